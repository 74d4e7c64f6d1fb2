"""One job, executed: build its cell, train and measure it, and turn the result (or any failure) into an outcome.

Every executor imports this module: the inline one calls `execute` in the driver's process, the isolated one in a
child process. A request and its outcome are plain picklable dataclasses; the cell is named, not held, and resolved
here from the plugins the request names.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from ..backends import get_backend
from ..measurement.measure import measure
from ..measurement.memory import PeakMemory
from ..measurement.predictions import model_state, prediction_text
from ..measurement.timing import threads_in_use
from ..measurement.train import EpochRecord
from ..planning.grid import Job
from ..models.checkpoint import ModelState
from ..registry.loading import get_registry
from ..specs import CellConfig, TaskData


@dataclass(frozen=True)
class JobRequest:
    """A job and how to run it: the device, its time budget, torch's threads, and where loose plugins live."""

    job: Job
    device: str
    timeout: float | None = None
    threads: int | None = None
    plugins_dir: str | None = None
    task_failure: str = ""  # why the task's data could not be built; the row is an error without training
    save_model: bool = False  # hand the trained model back in the outcome (--save-models)


@dataclass
class JobOutcome:
    """A finished job: its runs.csv row, curve points, timing samples, the traceback behind an error row (the
    driver, the run folder's only writer, puts it into errors.log), and the trained model when asked to keep it."""

    job: Job
    row: dict[str, Any]
    curve: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    failure_details: str = ""
    model: ModelState | None = None


def _rows_per_step(job: Job, data: TaskData | None) -> int | None:
    """The batch size a job really trains with: a full batch is the whole training split."""
    if data is None:
        return job.batch_size
    rows = len(data.x_train)
    return rows if job.batch_size is None else min(job.batch_size, rows)


def base_row(request: JobRequest, data: TaskData | None) -> dict[str, Any]:
    """The row fields known before training: the key, the device and the settings."""
    job = request.job
    return {**job.key_fields(), "device": request.device, "epochs": job.epochs, "lr": job.lr,
            "ceiling": None if data is None else data.ceiling, "batch_size": _rows_per_step(job, data)}


def failed(request: JobRequest, data: TaskData | None, status: str, error: str, details: str = "") -> JobOutcome:
    """An outcome for a job that ended without results (its status and one-line error; details for the log)."""
    return JobOutcome(request.job, {**base_row(request, data), "status": status, "error": error},
                      failure_details=details)


def settled(request: JobRequest, data: TaskData | None) -> JobOutcome | None:
    """The outcome of a job that needs no training (skipped, or its task failed to build), else None."""
    if request.job.skip_reason:
        return JobOutcome(request.job, {**base_row(request, data), "threads": threads_in_use(), "status": "skipped",
                                        "error": request.job.skip_reason})
    if data is None:
        return failed(request, None, "error", request.task_failure)
    return None


def execute(request: JobRequest, data: TaskData | None, on_epoch: Callable[[EpochRecord], None] | None = None,
            on_train_start: Callable[[], None] | None = None) -> JobOutcome:
    """Train and measure one job; any failure becomes the row's status and error, never an exception.
    `on_train_start` is called once the session is built, as training starts."""
    done = settled(request, data)
    if done is not None:
        return done
    job = request.job
    row = {**base_row(request, data), "threads": threads_in_use()}
    try:
        cell = get_registry(request.plugins_dir).cell(job.cell)
        backend = get_backend(cell.backend)
        config = CellConfig(len(data.vocab), job.hidden_size, job.num_layers, job.bidirectional)
        with PeakMemory(request.device) as peak:
            session = backend.open_session(cell, config, data, job.lr, request.device, job.seed, job.batch_size)
            row["params"] = session.param_count
            if on_train_start is not None:
                on_train_start()
            measured = measure(session, job.epochs, request.timeout, job.target, on_epoch)
        row.update(measured.fields, peak_memory_mb=peak.mib)
        model = None
        if row["status"] == "ok":
            row["prediction"] = prediction_text(session, data)
            if request.save_model:
                model = model_state(session, data, job.key_fields())
    except Exception as exc:  # a failing cell is recorded and the run goes on
        row.update(status="error", error=f"{type(exc).__name__}: {exc}")
        return JobOutcome(job, row, failure_details=traceback.format_exc())
    return JobOutcome(job, row, measured.curve, measured.samples, model=model)
