"""Executors run jobs and yield their outcomes as each finishes; the sweep records every outcome as it arrives.

An executor is chosen by name (`EXECUTORS`) and imported only when a run uses it; the inline one, small enough to
need no module of its own, is here. To add one (a cluster, a queue), write a module with a class that has
`outcomes(requests, datasets, epoch_progress)` and name it here: it ships each `JobRequest` somewhere that calls
`job.execute`, and yields the `JobOutcome`s in any order. A class that needs the run's settings (workers, an
address) has a classmethod `from_options(options)`; the others are built without any.
"""
from __future__ import annotations

import importlib
from functools import partial
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Protocol, Sequence

from ..errors import BenchInputError

if TYPE_CHECKING:
    from ..measurement.train import EpochRecord
    from ..planning.grid import Job
    from ..planning.options import RunOptions
    from ..specs import TaskData
    from .job import JobOutcome, JobRequest

# A job's place in the run and its total, the job, one finished epoch: for live progress where an executor can.
EpochProgress = Callable[[int, int, "Job", "EpochRecord"], None]
EXECUTORS = {"inline": "benchsuite.execution:InlineExecutor",
             "isolated": "benchsuite.execution.isolated:IsolatedExecutor",
             "ray": "benchsuite.execution.ray_executor:RayExecutor"}


class Executor(Protocol):
    def outcomes(self, requests: Sequence[JobRequest], datasets: Mapping[str, TaskData | None],
                 epoch_progress: EpochProgress | None = None) -> Iterator[JobOutcome]:
        """Run every request (its task's data in `datasets`, None where building failed) and yield each outcome
        as it finishes. Closing the iterator early (--fail-fast, Ctrl-C) stops what has not finished."""


class InlineExecutor:
    """Every job in the driver's own process, one after another, with per-epoch progress: the cheapest executor;
    a cell that crashes the interpreter ends the run (use the isolated one for that)."""

    def outcomes(self, requests: Sequence[JobRequest], datasets: Mapping[str, TaskData | None],
                 epoch_progress: EpochProgress | None = None) -> Iterator[JobOutcome]:
        from .job import execute  # torch and the training loop: only once a run executes

        for index, request in enumerate(requests, start=1):
            on_epoch = None if epoch_progress is None else partial(epoch_progress, index, len(requests), request.job)
            yield execute(request, datasets[request.job.task], on_epoch)


def get_executor(name: str, options: RunOptions | None = None) -> Executor:
    """A new executor called `name`, set up from the run's `options` where it reads them; unknown names are a
    bad-input error."""
    if name not in EXECUTORS:
        raise BenchInputError(f"unknown executor {name!r}; known executors: {', '.join(EXECUTORS)}")
    module, _, cls = EXECUTORS[name].partition(":")
    executor_class = getattr(importlib.import_module(module), cls)
    from_options = getattr(executor_class, "from_options", None)
    return executor_class() if from_options is None or options is None else from_options(options)
