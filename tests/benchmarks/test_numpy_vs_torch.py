"""Per-epoch time of `numpy-rnn` against torch's `rnn`, both through the suite's own sessions.

Both sessions train the same task in one process, one epoch each in turn (order alternating), and
the medians are compared, so machine load moves both figures together. Both libraries run on one
thread (tests/helpers/threads.py says why), so the thread's CPU time is all the work an epoch
does; the verdict uses it because on a busy machine wall-clock epochs also count the time other
processes held the core, and more of it for the longer epoch. Wall-clock medians are printed
beside it. Run with `-s` to see the figures, or run this module for the scaling table:
`cd tests && ../.venv/bin/python -m benchmarks.test_numpy_vs_torch`.
"""
from __future__ import annotations

import statistics
import time

import pytest

from benchsuite.backbones import open_session
from benchsuite.backends import Session, TrainingSettings
from benchsuite.registry.loading import get_registry
from benchsuite.specs import CellConfig
from helpers.threads import single_thread

WARMUP_EPOCHS = 5
CELLS = ("rnn", "numpy-rnn")
CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}


def open_sessions(task: str, num_layers: int, hidden_size: int | None = None,
                  **task_options: object) -> dict[str, Session]:
    """A torch `rnn` and a `numpy-rnn` session on `task`, with the task's defaults unless told."""
    registry = get_registry()
    spec = registry.task(task)
    data = spec.build(**task_options)
    defaults = {**spec.defaults, **data.defaults}
    config = CellConfig(len(data.vocab), hidden_size or defaults["hidden_size"], num_layers)
    return {cell: open_session(registry.cell(cell), config, data, TrainingSettings(lr=defaults["lr"]))
            for cell in CELLS}


def _time_epoch(session: Session, epoch: int) -> dict[str, float]:
    started = {name: clock() for name, clock in CLOCKS.items()}
    for batch in session.batches(epoch):
        session.train_step(batch)
    session.synchronize()
    return {name: clock() - started[name] for name, clock in CLOCKS.items()}


def median_epoch_seconds(sessions: dict[str, Session], epochs: int) -> dict[str, dict[str, float]]:
    """{clock: {cell: median seconds per epoch}}, epochs interleaved, warm-up epochs left out."""
    samples: dict[str, dict[str, list[float]]] = {clock: {cell: [] for cell in sessions} for clock in CLOCKS}
    cells = list(sessions)
    for epoch in range(1, WARMUP_EPOCHS + epochs + 1):
        for cell in cells if epoch % 2 else reversed(cells):
            seconds = _time_epoch(sessions[cell], epoch)
            if epoch > WARMUP_EPOCHS:
                for clock in CLOCKS:
                    samples[clock][cell].append(seconds[clock])
    return {clock: {cell: statistics.median(values) for cell, values in by_cell.items()}
            for clock, by_cell in samples.items()}


def ratio(medians: dict[str, float]) -> float:
    return medians["numpy-rnn"] / medians["rnn"]


def describe(medians: dict[str, dict[str, float]]) -> str:
    return "; ".join(f"{clock}: numpy-rnn {by_cell['numpy-rnn'] * 1e3:.3f} ms, rnn {by_cell['rnn'] * 1e3:.3f} ms, "
                     f"ratio {ratio(by_cell):.2f}" for clock, by_cell in medians.items())


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("task, num_layers, epochs, target", [
    ("apple", 1, 300, 0.6),  # tiny sizes: torch pays for dispatch and autograd, numpy does not
    ("ship", 1, 150, 1.0),
])
def test_numpy_rnn_epoch_costs_less_than_torch_rnn(task: str, num_layers: int, epochs: int, target: float) -> None:
    medians = median_epoch_seconds(open_sessions(task, num_layers), epochs)
    report = f"{task} {num_layers} layer, per epoch: {describe(medians)} (target <= {target} on cpu)"
    print("\n" + report)
    assert ratio(medians["cpu"]) <= target, report


def scaling_table() -> list[str]:
    """Per-epoch medians (thread CPU time) on ship as the window and the hidden size grow."""
    lines = ["seq_len hidden positions | rnn ms | numpy-rnn ms | ratio"]
    for seq_len, hidden in [(10, 25), (20, 25), (40, 25), (80, 25), (10, 50), (10, 100), (10, 200)]:
        sessions = open_sessions("ship", 1, hidden, seq_len=seq_len)
        medians = median_epoch_seconds(sessions, 40)["cpu"]
        positions = len(next(iter(sessions["numpy-rnn"].batches(1))).targets)
        lines.append(f"{seq_len:7d} {hidden:6d} {positions:9d} | {medians['rnn'] * 1e3:6.2f} | "
                     f"{medians['numpy-rnn'] * 1e3:12.2f} | {ratio(medians):5.2f}")
    return lines


if __name__ == "__main__":
    with single_thread():
        print("\n".join(scaling_table()))
