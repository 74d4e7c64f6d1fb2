"""A loose plugin file of misbehaving torch cells, for tests that pass it with --plugins-dir."""
from __future__ import annotations

from pathlib import Path

from helpers.cell import SOURCE as HOOKED_RNN

SLEEP_SECONDS = 1.0  # per forward of the `sleeps` cell; tests pass a --timeout between one and two of these

SOURCE = HOOKED_RNN + '''
import math, os, signal, time

from benchsuite import CellSpec, hookimpl

SLEEP_SECONDS = {sleep}


def raises_on_4th_forward(layer, output):
    if layer.calls == 4:
        raise RuntimeError("raised on purpose on the fourth forward")
    return output


def returns_nan(layer, output):
    return output * math.nan


def sleeps(layer, output):
    time.sleep(SLEEP_SECONDS)
    return output


def slow(layer, output):
    time.sleep(0.05)
    return output


def hangs(layer, output):
    time.sleep(60)
    return output


def exits_3(layer, output):
    os._exit(3)


def kills_itself(layer, output):
    os.kill(os.getpid(), signal.SIGKILL)


class Unprintable(Exception):
    def __str__(self):
        raise ValueError("no message")


class NotAnException(BaseException):
    """A BaseException subclass that is neither KeyboardInterrupt nor SystemExit."""


def raises_generator_exit(layer, output):
    raise GeneratorExit("raised on purpose")


def raises_base_exception(layer, output):
    raise NotAnException("raised on purpose")


def raises_unprintable(layer, output):
    raise Unprintable


def ctrl_c_on_3rd_run(layer, output):
    if layer.run_number == 3 and layer.calls == 2:
        raise KeyboardInterrupt
    return output


def hang_in_build(config):
    time.sleep(60)
    return nn.RNN(config.input_size, config.hidden_size, batch_first=True)


@hookimpl
def register_cells(register):
    for misbehave in (raises_on_4th_forward, returns_nan, sleeps, slow, hangs, exits_3, kills_itself,
                      ctrl_c_on_3rd_run, raises_generator_exit, raises_base_exception, raises_unprintable):
        register(CellSpec(misbehave.__name__, "torch", lambda config, m=misbehave: HookedRNN(config, m)))
    register(CellSpec("hangs_in_build", "torch", hang_in_build))
'''


def write_plugin(folder: Path) -> Path:
    """Write the plugin file into `folder` (made if needed) and return the folder, for --plugins-dir."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "faulty_cells.py").write_text(SOURCE.replace("{sleep}", repr(SLEEP_SECONDS)))
    return folder
