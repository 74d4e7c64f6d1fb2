"""One benchmark run: check the request, build the tasks, plan the grid, train each job, record each row."""
from __future__ import annotations

import sys
import traceback
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .backends import get_backend
from .planning.devices import device_name, resolve_device
from .errors import BenchInputError, RunInterrupted
from .execution.isolated import ChildFailure, Outcome, run_isolated
from .measurement.measure import measure
from .measurement.memory import PeakMemory
from .measurement.environment import collect_meta
from .planning.grid import Job, RunOptions, check_task_options_target, plan_task
from .registry.loading import get_registry
from .results.files import FAILED_STATUSES, RunWriter, create_run_dir, read_csv_rows, read_runs, write_json
from .results.resume import job_key, options_record, prepare_resume, record_resume, resume_options
from .specs import CellConfig, TaskData
from .results.summary import write_summary
from .planning.tasks import build_task, effective_defaults
from .measurement.timing import thread_count, threads_in_use
from .measurement.train import EpochRecord

if TYPE_CHECKING:
    import pandas

Progress = Callable[[int, int, dict[str, Any]], None]
EpochProgress = Callable[[int, int, Job, EpochRecord], None]  # job's index and total, the job, its epoch
Built = tuple[TaskData | None, str]  # a task's data, or None and why building it failed


def _rows_per_step(job: Job, data: TaskData | None) -> int | None:
    """The batch size a job really trains with: a full batch is the whole training split."""
    if data is None:
        return job.batch_size
    rows = len(data.x_train)
    return rows if job.batch_size is None else min(job.batch_size, rows)


def _base_row(job: Job, device: str, data: TaskData | None) -> dict[str, Any]:
    return {
        "task": job.task, "cell": job.cell.name, "backend": job.cell.backend, "num_layers": job.num_layers,
        "bidirectional": job.bidirectional, "hidden_size": job.hidden_size, "seed": job.seed, "device": device,
        "epochs": job.epochs, "lr": job.lr, "ceiling": None if data is None else data.ceiling,
        "batch_size": _rows_per_step(job, data),
    }


def execute(job: Job, data: TaskData, device: str, timeout: float | None, error_log: Path,
            on_epoch: Callable[[EpochRecord], None] | None = None,
            on_train_start: Callable[[], None] | None = None) -> Outcome:
    """Train and measure one job: (row, curve points, timing samples); any failure becomes the row's status and
    error, never an exception. `on_train_start` is called once the session is built, as training starts."""
    row = {**_base_row(job, device, data), "threads": threads_in_use()}
    curve: list[dict[str, Any]] = []
    samples: list[dict[str, Any]] = []
    if job.skip_reason:
        return {**row, "status": "skipped", "error": job.skip_reason}, curve, samples
    try:
        backend = get_backend(job.cell.backend)
        config = CellConfig(len(data.vocab), job.hidden_size, job.num_layers, job.bidirectional)
        with PeakMemory(device) as peak:
            session = backend.open_session(job.cell, config, data, job.lr, device, job.seed, job.batch_size)
            row["params"] = session.param_count
            if on_train_start is not None:
                on_train_start()
            measured = measure(session, job.epochs, timeout, job.target, on_epoch)
        row.update(measured.fields, peak_memory_mb=peak.mib)
        curve, samples = measured.curve, measured.samples
    except Exception as exc:  # a failing cell is recorded and the run goes on
        row.update(status="error", error=f"{type(exc).__name__}: {exc}")
        log_failure(error_log, job, traceback.format_exc())
    return row, curve, samples


def log_failure(error_log: Path, job: Job, details: str) -> None:
    """Append what went wrong in `job` to the run's error log, under a line naming the job."""
    with open(error_log, "a", encoding="utf-8") as log:
        log.write(f"--- {job.task} {job.cell.name} layers={job.num_layers} "
                  f"bidirectional={job.bidirectional} seed={job.seed}\n{details.rstrip()}\n\n")


def _build_tasks(options: RunOptions, registry: Any) -> dict[str, Built]:
    """Each task's data, or None and the reason its build failed (its rows become errors)."""
    built = {}
    for name in options.tasks:
        try:
            built[name] = (build_task(registry.task(name), options.task_opts.get(name, {})), "")
        except BenchInputError:
            raise
        except Exception as exc:
            built[name] = (None, f"task build failed: {type(exc).__name__}: {exc}")
    return built


def _run_job(job: Job, built: Built, options: RunOptions, device: str, error_log: Path,
             on_epoch: Callable[[EpochRecord], None] | None) -> Outcome:
    """One job's row, curve and samples: in this process, or with --isolate in a child one (no epoch progress)."""
    data, failure = built
    if data is None:
        return {**_base_row(job, device, None), "status": "error", "error": failure}, [], []
    if not options.isolate or job.skip_reason:
        return execute(job, data, device, options.timeout, error_log, on_epoch)
    outcome = run_isolated(job, data, device, options, error_log)
    if isinstance(outcome, ChildFailure):
        log_failure(error_log, job, outcome.error)
        return {**_base_row(job, device, data), "status": outcome.status, "error": outcome.error}, [], []
    return outcome


def _run_jobs(jobs: list[Job], datasets: dict[str, Built], options: RunOptions, device: str, run_dir: Path,
              progress: Progress | None, epoch_progress: EpochProgress | None) -> int:
    """Run and record each job in order; returns how many --fail-fast left unrun."""
    with RunWriter(run_dir) as writer:
        for index, job in enumerate(jobs, start=1):
            on_epoch = None if epoch_progress is None else partial(epoch_progress, index, len(jobs), job)
            row, curve, samples = _run_job(job, datasets[job.task], options, device, run_dir / "errors.log", on_epoch)
            writer.append(row, curve, samples)
            if progress is not None:
                progress(index, len(jobs), row)
            if options.fail_fast and row["status"] in FAILED_STATUSES:
                return len(jobs) - index
    return 0


def run_options(options: RunOptions, argv: list[str] | None = None, progress: Progress | None = None,
                epoch_progress: EpochProgress | None = None,
                resume_dir: str | Path | None = None) -> "pandas.DataFrame":
    """Run the whole grid, or with `resume_dir` what an interrupted run left undone, in its folder.

    The returned table holds every row of the run folder; `attrs["run_dir"]` names the folder and
    `attrs["not_run"]` counts the jobs --fail-fast left unrun. Ctrl-C raises `RunInterrupted`.
    """
    registry = get_registry(options.plugins_dir)
    task_specs = [registry.task(name) for name in options.tasks]
    cells = [registry.cell(name) for name in (options.cells or registry.cells)]
    check_task_options_target(options, registry.tasks)
    device = resolve_device(options.device)
    datasets = _build_tasks(options, registry)
    jobs = []
    for spec in task_specs:
        data, _ = datasets[spec.name]
        defaults = effective_defaults(spec, data) if data is not None else dict(spec.defaults)
        jobs += plan_task(options, spec.name, spec.causal, defaults, cells, device,
                          ceiling=None if data is None else data.ceiling)

    argv = argv or sys.argv
    kept = 0
    with thread_count(options.threads):
        if resume_dir is None:
            run_dir = create_run_dir(options.out)
            write_json(run_dir / "meta.json", {**collect_meta(device, device_name(device), argv),
                                               "options": options_record(options)})
        else:
            run_dir = Path(resume_dir)
            done = prepare_resume(run_dir, device)
            kept, jobs = len(done), [job for job in jobs if job_key(job) not in done]
            record_resume(run_dir, argv, options, kept, len(jobs))
        try:
            not_run = _run_jobs(jobs, datasets, options, device, run_dir, progress, epoch_progress)
        except KeyboardInterrupt:
            runs = run_dir / "runs.csv"
            finished = len(read_csv_rows(runs)) if runs.exists() else 0
            raise RunInterrupted(str(run_dir), finished, kept + len(jobs)) from None
    write_summary(run_dir)
    table = read_runs(run_dir)
    table.attrs.update(run_dir=str(run_dir), not_run=not_run)
    return table


def choose_options(given: dict[str, Any], resume: str | Path | None = None) -> RunOptions:
    """The options of a run as given (unparsed), or with `resume` the interrupted run's own with `given` on top."""
    if resume is not None:
        return resume_options(resume, given)
    if given.get("tasks") is None:
        raise BenchInputError("--tasks: name the tasks to run (see `bench list`), or resume a run with --resume RUN_DIR")
    return RunOptions.parse(**given)


def run(tasks: Any = None, cells: Any = None, resume: str | Path | None = None, **options: Any) -> "pandas.DataFrame":
    """`bench run` from Python: the same options, by keyword (None means not given); returns the runs table."""
    given = {name: value for name, value in {"tasks": tasks, "cells": cells, **options}.items() if value is not None}
    return run_options(choose_options(given, resume), resume_dir=resume)
