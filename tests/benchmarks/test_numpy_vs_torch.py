"""Per-epoch time of `numpy-rnn` against torch's `rnn`, both through the suite's own sessions.

Both sessions train the same task in one process, one epoch each in turn (order alternating), and
the medians are compared, so machine load moves both figures together and the ratio stays honest.
Both libraries run on one thread (the `one_thread` fixture in tests/conftest.py says why).
Run with `-s` to see the figures.
"""
from __future__ import annotations

import statistics
import time

import pytest
import torch
from threadpoolctl import threadpool_limits

from benchsuite.backends import Session, get_backend
from benchsuite.plugins import get_registry
from benchsuite.specs import CellConfig

WARMUP_EPOCHS = 5


def open_sessions(task: str, num_layers: int, hidden_size: int | None = None, **task_options: object) -> dict[str, Session]:
    """A torch `rnn` and a `numpy-rnn` session on `task`, with the task's default hidden size and lr."""
    registry = get_registry()
    spec = registry.task(task)
    data = spec.build(**task_options)
    defaults = {**spec.defaults, **data.defaults}
    config = CellConfig(len(data.vocab), hidden_size or defaults["hidden_size"], num_layers)
    return {cell: get_backend(registry.cell(cell).backend).open_session(registry.cell(cell), config, data,
                                                                          defaults["lr"], "cpu", 0)
            for cell in ("rnn", "numpy-rnn")}


def _epoch_seconds(session: Session, epoch: int) -> float:
    started = time.perf_counter()
    for batch in session.batches(epoch):
        session.train_step(batch)
    session.synchronize()
    return time.perf_counter() - started


def median_epoch_seconds(sessions: dict[str, Session], epochs: int) -> dict[str, float]:
    """Median seconds per epoch of each session, epochs interleaved, warm-up epochs left out."""
    times: dict[str, list[float]] = {name: [] for name in sessions}
    names = list(sessions)
    for epoch in range(1, WARMUP_EPOCHS + epochs + 1):
        for name in names if epoch % 2 else reversed(names):
            seconds = _epoch_seconds(sessions[name], epoch)
            if epoch > WARMUP_EPOCHS:
                times[name].append(seconds)
    return {name: statistics.median(samples) for name, samples in times.items()}


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("task, num_layers, epochs, target", [
    ("apple", 1, 400, 0.6),  # tiny sizes: torch pays for dispatch and autograd, numpy does not
    ("ship", 1, 150, 1.0),
])
def test_numpy_rnn_epoch_is_faster_than_torch_rnn(task: str, num_layers: int, epochs: int, target: float) -> None:
    medians = median_epoch_seconds(open_sessions(task, num_layers), epochs)
    ratio = medians["numpy-rnn"] / medians["rnn"]
    print(f"\n{task} {num_layers} layer: numpy-rnn {medians['numpy-rnn'] * 1e3:.3f} ms/epoch, "
          f"torch rnn {medians['rnn'] * 1e3:.3f} ms/epoch, ratio {ratio:.2f} (target <= {target})")
    assert ratio <= target


def scaling_table() -> list[str]:
    """Per-epoch medians on ship as the window (sequence length) and the hidden size grow, one thread each."""
    lines = ["seq_len hidden windows | torch ms | numpy ms | ratio"]
    for seq_len, hidden in [(10, 25), (20, 25), (40, 25), (80, 25), (10, 50), (10, 100), (10, 200)]:
        sessions = open_sessions("ship", 1, hidden, seq_len=seq_len)
        medians = median_epoch_seconds(sessions, 40)
        windows = len(next(iter(sessions["numpy-rnn"].batches(1))).targets) // seq_len
        lines.append(f"{seq_len:7d} {hidden:6d} {windows:7d} | {medians['rnn'] * 1e3:8.2f} | "
                     f"{medians['numpy-rnn'] * 1e3:8.2f} | {medians['numpy-rnn'] / medians['rnn']:5.2f}")
    return lines


if __name__ == "__main__":  # the scaling table: .venv/bin/python tests/benchmarks/test_numpy_vs_torch.py
    torch.set_num_threads(1)
    with threadpool_limits(limits=1, user_api="blas"):  # as the one_thread fixture does
        print("\n".join(scaling_table()))
