"""One benchmark run: plan -> executor -> writer -> summary.

Check the request, build each task's data once, plan the grid of jobs, hand them to the executor the options name,
and append each outcome to the run folder as it arrives (this process is the folder's only writer).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .errors import BenchInputError, RunInterrupted
from .execution import EpochProgress, Executor, get_executor
from .execution.job import JobOutcome, JobRequest
from .measurement.environment import collect_meta
from .models.checkpoint import write_model
from .measurement.timing import thread_count
from .planning.devices import device_name, resolve_device
from .planning.grid import Job, check_task_options_target, plan_task
from .planning.options import RunOptions, options_record, resume_options
from .planning.tasks import build_task, effective_defaults
from .registry.loading import Registry, get_registry
from .results.files import RunWriter, create_run_dir, read_csv_rows, write_json
from .results.load import read_runs
from .results.resume import prepare_resume, record_resume
from .results.schema import FAILED_STATUSES
from .results.summary import write_summary
from .specs import CellSpec, TaskData

if TYPE_CHECKING:
    import pandas

Progress = Callable[[int, int, dict[str, Any]], None]  # rows finished so far, rows planned, the row just finished
Built = tuple[TaskData | None, str]  # a task's data, or None and why building it failed


def _build_tasks(options: RunOptions, registry: Registry) -> dict[str, Built]:
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


def _plan(options: RunOptions, registry: Registry, cells: list[CellSpec], datasets: dict[str, Built],
          device: str) -> list[Job]:
    """Every job of the run, in the stable order tasks, cells, layers, directions, seeds."""
    jobs = []
    for name in options.tasks:
        spec, (data, _) = registry.task(name), datasets[name]
        defaults = effective_defaults(spec, data) if data is not None else dict(spec.defaults)
        jobs += plan_task(options, name, spec.causal, defaults, cells, device,
                          ceiling=None if data is None else data.ceiling)
    return jobs


def log_failure(error_log: Path, job: Job, details: str) -> None:
    """Append what went wrong in `job` to the run's error log, under a line naming the job."""
    with open(error_log, "a", encoding="utf-8") as log:
        log.write(f"--- {job.task} {job.cell} layers={job.num_layers} "
                  f"bidirectional={job.bidirectional} seed={job.seed}\n{details.rstrip()}\n\n")


def _record(outcome: JobOutcome, writer: RunWriter, run_dir: Path) -> None:
    if outcome.failure_details:
        log_failure(run_dir / "errors.log", outcome.job, outcome.failure_details)
    if outcome.model is not None:  # before the row, which promises that its files are on disk
        write_model(run_dir, outcome.model)
    writer.append(outcome.row, outcome.curve, outcome.samples)


def _run_jobs(executor: Executor, requests: Sequence[JobRequest], datasets: dict[str, Built], options: RunOptions,
              run_dir: Path, progress: Progress | None, epoch_progress: EpochProgress | None) -> int:
    """Run every request on the executor and record each outcome as it arrives; returns how many --fail-fast
    left unrun."""
    data = {name: built[0] for name, built in datasets.items()}
    outcomes = executor.outcomes(requests, data, epoch_progress)
    with RunWriter(run_dir) as writer:
        try:
            for finished, outcome in enumerate(outcomes, start=1):
                _record(outcome, writer, run_dir)
                if progress is not None:
                    progress(finished, len(requests), outcome.row)
                if options.fail_fast and outcome.row["status"] in FAILED_STATUSES:
                    return len(requests) - finished
        finally:
            outcomes.close()  # stops what the executor still has running (fail-fast, Ctrl-C)
    return 0


def run_options(options: RunOptions, argv: list[str] | None = None, progress: Progress | None = None,
                epoch_progress: EpochProgress | None = None,
                resume_dir: str | Path | None = None) -> "pandas.DataFrame":
    """Run the whole grid, or with `resume_dir` what an interrupted run left undone, in its folder.

    The returned table holds every row of the run folder; `attrs["run_dir"]` names the folder and `attrs["not_run"]` counts the jobs --fail-fast left unrun. Ctrl-C raises `RunInterrupted`.
    """
    registry = get_registry(options.plugins_dir)
    for name in options.tasks:
        registry.task(name)  # unknown names are bad input before anything is built
    cells = [registry.cell(name) for name in (options.cells or registry.cells)]
    check_task_options_target(options, registry.tasks)
    device = resolve_device(options.device)
    executor = get_executor(options.executor, options)  # before any folder: a missing engine is bad input
    datasets = _build_tasks(options, registry)
    jobs = _plan(options, registry, cells, datasets, device)

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
            kept, jobs = len(done), [job for job in jobs if job.key not in done]
            record_resume(run_dir, argv, options_record(options), kept, len(jobs))
        requests = [JobRequest(job, device, options.timeout, options.threads, options.plugins_dir,
                               task_failure=datasets[job.task][1], save_model=options.save_models) for job in jobs]
        try:
            not_run = _run_jobs(executor, requests, datasets, options, run_dir, progress, epoch_progress)
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
