"""The inline executor: every job in the driver's own process, one after another, with per-epoch progress."""
from __future__ import annotations

from functools import partial
from typing import Iterator, Mapping, Sequence

from ..specs import TaskData
from . import EpochProgress
from .job import JobOutcome, JobRequest, execute


class InlineExecutor:
    """The cheapest executor; a cell that crashes the interpreter ends the run (use the isolated one for that)."""

    def outcomes(self, requests: Sequence[JobRequest], datasets: Mapping[str, TaskData | None],
                 epoch_progress: EpochProgress | None = None) -> Iterator[JobOutcome]:
        for index, request in enumerate(requests, start=1):
            on_epoch = None if epoch_progress is None else partial(epoch_progress, index, len(requests), request.job)
            yield execute(request, datasets[request.job.task], on_epoch)
