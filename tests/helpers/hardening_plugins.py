"""Loose plugin files of hostile cells and plugins, for the hardening tests (issue 17) to pass with --plugins-dir."""
from __future__ import annotations

from pathlib import Path

from helpers.cell import SOURCE as HOOKED_RNN

CELLS = HOOKED_RNN + '''
import os, signal, sys, time

from benchsuite import CellSpec, hookimpl


def exits_5(layer, output):
    sys.exit(5)


def sigterm_on_3rd_run(layer, output):
    if layer.run_number == 3 and layer.calls == 2:
        os.kill(os.getpid(), signal.SIGTERM)
    return output


def sigterm_the_test(layer, output):
    """In an isolated child: note where the child's files are, then SIGTERM the test process (the run's parent)."""
    target = int(os.environ["HARDENING_TEST_PID"])
    if os.getpid() != target:
        with open(os.environ["HARDENING_NOTE"], "w") as note:
            note.write(sys.argv[1])
        os.kill(target, signal.SIGTERM)
        time.sleep(60)
    return output


def build_sleeps(config):
    time.sleep(60)


@hookimpl
def register_cells(register):
    for misbehave in (exits_5, sigterm_on_3rd_run, sigterm_the_test):
        register(CellSpec(misbehave.__name__, "torch", lambda config, m=misbehave: HookedRNN(config, m)))
    register(CellSpec("build_sleeps", "torch", build_sleeps))
'''

BAD_NAMES = '''
from benchsuite import CellSpec, TaskSpec, hookimpl

NAMES = ["", "a,b", "two\\nlines", "=cmd|' /C calc'!A0", "a.b", "x" * 65]


@hookimpl
def register_cells(register):
    for name in NAMES:
        register(CellSpec(name, "torch", lambda config: None))
    register(CellSpec("good-cell_1", "torch", lambda config: None))


@hookimpl
def register_tasks(register):
    register(TaskSpec("", lambda: None))
'''

EXITS_AT_IMPORT = '''
import os
os._exit(0)
'''

WRITES_A_MARK = '''
import os
open(os.environ["HARDENING_MARK"], "w").close()  # proof that this file was imported
'''


def write_plugin(folder: Path, name: str = "hostile_cells", source: str = CELLS) -> Path:
    """Write one plugin file into `folder` (made if needed) and return the folder, for --plugins-dir."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(source)
    return folder
