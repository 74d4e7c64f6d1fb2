"""One training step and one inference pass of every built-in cell on the seed tasks, timed by pytest-benchmark.

Ordinary runs (`--benchmark-disable`, set in pyproject) call each once, as a test of what it returns. CI's
benchmark pass times them and saves JSON; within a group (task and pass) pytest-benchmark shows each cell's
time as a ratio to the fastest cell measured in the same run. Timings use one CPU thread: these models are
tiny, and on a shared machine a second intra-op thread mostly adds waiting (a ship LSTM step measured 18 ms
on one thread and 1.4 s on two while other jobs ran).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest

from benchsuite.backbones import open_session
from benchsuite.backends import BACKEND_DEVICES, TrainingSettings
from benchsuite.measurement.environment import threads_in_use
from benchsuite.planning.grid import SUITE_DEFAULTS
from benchsuite.planning.tasks import build_task, effective_defaults
from benchsuite.registry.loading import BUILTIN_PLUGINS, get_registry
from benchsuite.specs import CellConfig, TaskData

TASKS = ("apple", "ship")
BUILTIN_CELLS = sorted(name for name, entry in get_registry().cells.items() if entry.plugin in BUILTIN_PLUGINS)
DEVICES = ("cpu", "cuda")
pytestmark = pytest.mark.usefixtures("one_thread")


def task_session(cell_name: str, task: str, device: str) -> tuple[Any, TaskData]:
    """A fresh session for the cell on the task with the task's default hyperparameters, and the task's data."""
    registry = get_registry()
    cell, spec = registry.cell(cell_name), registry.task(task)
    if device not in BACKEND_DEVICES.get(cell.backend, ()):
        pytest.skip(f"backend {cell.backend!r} does not run on {device}")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            pytest.skip("CUDA is not available")
    data = build_task(spec, {})
    hyper = {**SUITE_DEFAULTS, **effective_defaults(spec, data)}
    config = CellConfig(len(data.vocab), hyper["hidden_size"], hyper["num_layers"])
    session = open_session(cell, config, data, TrainingSettings(lr=hyper["lr"], device=device))
    return session, data


def describe(benchmark: Any, session: Any, cell: str, task: str, device: str, kind: str) -> None:
    benchmark.group = f"{task} {kind} ({device})"
    benchmark.extra_info.update(cell=cell, task=task, device=device, kind=kind, params=session.param_count,
                                threads=threads_in_use())


def each_case(test: Callable) -> Callable:
    """Parametrized over every built-in cell, task and device."""
    for name, values in (("cell", BUILTIN_CELLS), ("task", TASKS), ("device", DEVICES)):  # ids read cell-task-device
        test = pytest.mark.parametrize(name, values)(test)
    return test


@each_case
def test_train_step(benchmark, cell, task, device):
    session, data = task_session(cell, task, device)
    batch = next(iter(session.batches(1)))
    describe(benchmark, session, cell, task, device, "train step")

    def step():
        stats = session.train_step(batch)
        session.synchronize()  # a step is timed to the end of its device work
        return stats

    stats = benchmark(step)
    assert math.isfinite(stats.loss) and 0 <= stats.correct <= stats.counted
    assert stats.counted == int(np.sum(np.asarray(data.y_train) >= 0))  # one full batch: every target counted


@each_case
def test_inference(benchmark, cell, task, device):
    session, data = task_session(cell, task, device)
    batch = next(iter(session.batches(1)))
    describe(benchmark, session, cell, task, device, "inference")
    before = session.evaluate("train")

    def infer():
        characters = session.infer(batch)
        session.synchronize()  # a pass is timed to the end of its device work
        return characters

    assert benchmark(infer) == np.asarray(data.x_train).size  # one full batch: every input character read
    assert session.evaluate("train") == before  # inference leaves the model as it was
