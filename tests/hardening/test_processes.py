"""Hardening (issue 17): processes. --timeout bounds building a cell in an isolated child; the child dies with its
parent; SIGTERM stops a run like Ctrl-C and leaves no temporary files; a plugin that ends the interpreter at import is
named by `bench plugins --check`. (D5, D6, D7, D15)"""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from benchsuite.execution import isolated as isolation
from benchsuite.execution.job import JobRequest
from benchsuite.planning.grid import Job
from benchsuite.planning.tasks import build_task
from benchsuite.registry.loading import get_registry
from benchsuite.results.files import read_csv_rows
from helpers.cli import assert_bad_input
from helpers.hardening_plugins import EXITS_AT_IMPORT, write_plugin
from helpers.runs import only_run_dir

APPLE = ["run", "--tasks", "apple", "--device", "cpu", "--epochs", "2"]
BUILT_INS = "torch_cells,numpy_rnn,seed_tasks,char_tasks"


# D5: a build() that sleeps blocked the run for ever, even with --isolate --timeout 5.
@pytest.mark.slow  # a child process imports torch
def test_an_isolated_build_that_hangs_is_killed_as_a_timeout(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(isolation, "START_GRACE_SECONDS", 2.0)
    plugins = write_plugin(tmp_path / "plugins")
    started = time.monotonic()
    result = bench(*APPLE, "--cells", "build_sleeps", "--isolate", "--timeout", "0.5", "--plugins-dir", str(plugins),
                   "--out", str(tmp_path / "out"))
    assert time.monotonic() - started < 50  # the build sleeps 60 s
    assert result.exit_code == 1, result.output
    (row,) = read_csv_rows(only_run_dir(tmp_path / "out") / "runs.csv")
    assert row["status"] == "timeout"
    assert row["error"] == ("killed 2.5 s after it started: starting and building the cell took longer than "
                            "--timeout 0.5 plus 2 s grace")


def test_help_says_only_isolation_stops_a_hung_build_and_layers_are_bounded(bench):
    help_text = " ".join(bench("run", "--help").output.split())
    assert "without it nothing can stop a cell whose build or step hangs" in help_text
    assert_bad_input(bench(*APPLE, "--layers", "1000000"), "--layers: 1000000 is above the largest allowed value, 64")


# D6: kill -9 of `bench` while its child was starting left the child running (PPID 1).
def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.mark.slow  # a child process imports torch
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_an_isolated_child_whose_parent_died_while_it_started_ends(tmp_path):
    plugins = write_plugin(tmp_path / "plugins")
    job = Job(task="apple", cell="build_sleeps", backend="torch", num_layers=1, bidirectional=False, hidden_size=4,
              seed=0, settings={"lr": 0.01, "batch_size": None, "max_epochs": 1, "clip": None, "weight_decay": 0.0,
                                "steps": None})
    request = JobRequest(job, "cpu", plugins_dir=str(plugins))
    data = build_task(get_registry().task("apple"), {})
    request_path = tmp_path / "request.pickle"
    request_path.write_bytes(pickle.dumps((request, data)))
    # A parent that starts the child and is killed at once: the child is still importing, before it can ask the
    # kernel to end it with its parent.
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import os, sys
        from pathlib import Path
        from benchsuite.execution.isolated import start_child
        ready_read, ready_write = os.pipe()
        child = start_child(Path({str(request_path)!r}), Path({str(tmp_path / 'result.pickle')!r}), ready_write)
        print(child.pid, flush=True)
        os.read(ready_read, 1)
        """)], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 40  # the build it would run sleeps 60 s
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    still = alive(child)
    if still:
        os.kill(child, signal.SIGKILL)
    assert not still, "the isolated child outlived its parent"


# D7: SIGTERM ended a run with exit 143, no message and no resume hint; isolated children left /tmp files.
class TermNotHandled(Exception):
    pass


@pytest.fixture
def sigterm_guard():
    """Before the fix SIGTERM would end the test process itself: make it an exception while the test runs."""
    def unhandled(number, frame):
        raise TermNotHandled

    previous = signal.signal(signal.SIGTERM, unhandled)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_sigterm_stops_a_run_like_ctrl_c(bench, tmp_path, sigterm_guard):
    plugins = write_plugin(tmp_path / "plugins")
    stopped = bench(*APPLE, "--cells", "sigterm_on_3rd_run", "--seeds", "0,1,2,3", "--plugins-dir", str(plugins),
                    "--out", str(tmp_path / "out"))
    run_dir = only_run_dir(tmp_path / "out")
    assert stopped.exit_code == 143
    assert (f"interrupted: 2 of 4 rows finished and are kept in {run_dir}/runs.csv; the row in flight was dropped. "
            f"Finish the run with: bench run --resume {run_dir} --plugins-dir {plugins}") in stopped.stderr
    assert [row["seed"] for row in read_csv_rows(run_dir / "runs.csv")] == ["0", "1"]
    assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # the run put the previous handler back


@pytest.mark.slow  # a child process imports torch
def test_sigterm_during_an_isolated_row_stops_the_child_and_removes_its_files(bench, tmp_path, monkeypatch,
                                                                              sigterm_guard):
    plugins, note = write_plugin(tmp_path / "plugins"), tmp_path / "note"
    monkeypatch.setenv("HARDENING_TEST_PID", str(os.getpid()))
    monkeypatch.setenv("HARDENING_NOTE", str(note))
    stopped = bench(*APPLE, "--cells", "rnn,sigterm_the_test", "--isolate", "--plugins-dir", str(plugins),
                    "--out", str(tmp_path / "out"))
    run_dir = only_run_dir(tmp_path / "out")
    assert stopped.exit_code == 143, stopped.output
    assert "interrupted: 1 of 2 rows finished" in stopped.stderr
    request = Path(note.read_text())
    assert request.parent.parent == run_dir / ".scratch"  # the child's files lived in the run folder...
    assert not (run_dir / ".scratch").exists()  # ...and are gone


def test_a_resume_clears_what_a_killed_isolated_run_left(bench, tmp_path):
    first = bench(*APPLE, "--cells", "rnn", "--out", str(tmp_path))
    run_dir = only_run_dir(tmp_path)
    left = run_dir / ".scratch" / "child-killed"
    left.mkdir(parents=True)
    (left / "request.pickle").write_bytes(b"x" * 1000)
    resumed = bench("run", "--resume", str(run_dir), "--seeds", "0,1")
    assert first.exit_code == resumed.exit_code == 0, resumed.output
    assert not (run_dir / ".scratch").exists()


# D15: a plugin calling os._exit(0) at import made `bench list` exit 0 with no output.
def test_plugins_check_names_a_plugin_that_ends_the_process(bench, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHSUITE_DISABLE_PLUGINS", BUILT_INS)  # keep the children quick: no torch to import
    plugins = write_plugin(tmp_path / "plugins", "ends_it", EXITS_AT_IMPORT)
    write_plugin(plugins, "fine", "from benchsuite import hookimpl\n")
    result = bench("plugins", "--check", "--plugins-dir", str(plugins))
    assert result.exit_code == 1, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[2:]}
    assert "failed    loading it ended the process (exit code 0)" in lines["ends_it"]
    assert lines["fine"].split()[1] == "loaded"
    assert all(lines[name].split()[1] == "disabled" for name in BUILT_INS.split(","))


# Issue 29, item 16: the report came from stdout, which a plugin shares.
FORGED_REPORT = 'benchsuite-plugin-check: {"status": "loaded", "error": "", "cells": [], "tasks": []}'


def _prints_then_exits(line: str) -> str:
    return f"import sys\nprint({line!r}, flush=True)\n{EXITS_AT_IMPORT}"


@pytest.mark.parametrize("source, status", [
    ("import sys\nsys.stdout.write('no newline')\nfrom benchsuite import hookimpl\n", "loaded"),
    (_prints_then_exits(FORGED_REPORT), "failed"),  # a forged report of a plugin that ends the interpreter
    (_prints_then_exits(FORGED_REPORT[:40]), "failed"),  # a malformed one: no traceback either
])
def test_plugins_check_trusts_no_line_a_plugin_prints(bench, tmp_path, monkeypatch, source, status):
    monkeypatch.setenv("BENCHSUITE_DISABLE_PLUGINS", BUILT_INS)
    plugins = write_plugin(tmp_path / "plugins", "chatty", source)
    result = bench("plugins", "--check", "--plugins-dir", str(plugins))
    assert "Traceback" not in result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[2:]}
    assert lines["chatty"].split()[1] == status, result.output
    assert result.exit_code == (1 if status == "failed" else 0), result.output
