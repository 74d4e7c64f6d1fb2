"""One benchmark run: plan -> executor -> sinks -> summary.

Check the request, build each task's data once, plan the grid of jobs, hand them to the executor the options name,
and hand each outcome to the sinks as it arrives: the run folder's first (this process is the folder's only
writer), then the plugins'.
"""
from __future__ import annotations

import shlex
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Sequence

from .backends import check_precision
from .errors import BenchInputError, RunInterrupted, describe_os_error
from .execution import EpochProgress, Executor, get_executor
from .execution.job import JobOutcome, JobRequest, one_line_error
from .measurement.environment import collect_meta, thread_count
from .planning.capacity import matched_hidden
from .planning.cells import check_cell_options_target, convert_cell_options
from .planning.grid import (
    HiddenFor,
    Job,
    check_grid_size,
    check_task_options_target,
    device_name,
    plan_task,
    resolve_device,
)
from .planning.options import OPTIONS, Resume, RunOptions, input_files, options_record
from .planning.resume import resume_options
from .planning.tasks import build_task, effective_defaults, longest_sequence
from .registry.loading import Registry, get_registry
from .registry.provenance import code_record, plugin_records
from .results.files import create_run_dir, read_csv_rows, refuse_links, write_json
from .results.load import RunResult, load_meta, load_runs
from .results.lock import RunLock
from .results.naming import direction_label
from .results.resume import RUN_FILES, prepare_resume, record_resume, scratch_folder
from .results.schema import FAILED_STATUSES, is_neutral
from .sinks.export import open_exporters, record_exports
from .sinks.run import RunSinks
from .specs import CellSpec, Sink, TaskData

Progress = Callable[[int, int, dict[str, Any]], None]  # rows finished so far, rows planned, the row just finished
Built = tuple[TaskData | None, str]  # a task's data, or None and why building it failed


def _build_tasks(options: RunOptions, registry: Registry) -> dict[str, Built]:
    """Each task's data, or None and the reason its build failed (its rows become errors)."""
    built = {}
    for name in options.tasks:
        try:
            built[name] = (build_task(registry.task(name), options.task_opts.get(name, {})), "")
        except (BenchInputError, KeyboardInterrupt):  # bad options and Ctrl-C/SIGTERM stop the run
            raise
        except BaseException as exc:  # plugin code: any failure (GeneratorExit, sys.exit) costs its rows, not the run
            built[name] = (None, f"task build failed: {one_line_error(exc)}")
    return built


def _plan(options: RunOptions, registry: Registry, cells: list[CellSpec], datasets: dict[str, Built],
          device: str, notes: list[str]) -> list[Job]:
    """Every job of the run, in the stable order tasks, cells, layers, directions, hyperparameters, seeds.
    With --params, a note for each variant whose closest parameter count is not within 5% of the target."""
    converted = {cell.name: convert_cell_options(cell, options.cell_opts.get(cell.name, {})) for cell in cells}
    jobs = []
    for name in options.tasks:
        spec, (data, _) = registry.task(name), datasets[name]
        defaults = effective_defaults(spec, data) if data is not None else dict(spec.defaults)
        jobs += plan_task(options, name, spec.causal, defaults, cells, device,
                          ceiling=None if data is None else data.ceiling,
                          train_rows=None if data is None else len(data.x_train),
                          hidden_for=None if options.params is None or data is None
                          else _matcher(name, data, options, converted, notes),
                          shape=None if data is None else (len(data.vocab), longest_sequence(data)),
                          cell_options=converted)
    return jobs


def _matcher(task: str, data: TaskData, options: RunOptions, cell_options: dict[str, dict[str, Any]],
             notes: list[str]) -> HiddenFor:
    """--params: the hidden size of each variant on `task`, built with the run's --cell-opt values and
    --backbone-opt knobs, noting those that cannot come within 5%."""
    matches: dict[tuple[Any, ...], int] = {}
    target = options.params

    def hidden_for(cell: CellSpec, layers: int, bidirectional: bool, backbone: str, preset: str | None) -> int:
        variant = (cell.name, layers, bidirectional, backbone, preset)
        if variant not in matches:
            match = matched_hidden(cell, layers, bidirectional, data, target, backbone, preset,
                                   options.backbone_opts, cell_options.get(cell.name))
            if not match.close:
                shown = "" if is_neutral("backbone", backbone) else f" {backbone}"
                notes.append(f"--params {target}: {task} {cell.name} {layers}L {direction_label(bidirectional)}"
                             f"{shown} comes no closer than {match.params} parameters (hidden {match.hidden_size})")
            matches[variant] = match.hidden_size
        return matches[variant]
    return hidden_for


def _run_jobs(executor: Executor, requests: Sequence[JobRequest], datasets: dict[str, Built], options: RunOptions,
              sinks: RunSinks, progress: Progress | None, epoch_progress: EpochProgress | None) -> int:
    """Run every request on the executor and hand each outcome to the sinks as it arrives; returns how many
    --fail-fast left unrun."""
    data = {name: built[0] for name, built in datasets.items()}
    outcomes = executor.outcomes(requests, data, epoch_progress)
    try:
        for finished, outcome in enumerate(outcomes, start=1):
            sinks.row_recorded(outcome)
            if progress is not None:
                progress(finished, len(requests), outcome.row)
            if options.fail_fast and outcome.row["status"] in FAILED_STATUSES:
                return len(requests) - finished
    finally:
        outcomes.close()  # stops what the executor still has running (fail-fast, Ctrl-C)
    return 0


def _tell_kept(sinks: RunSinks, run_dir: Path) -> None:
    """Hand the sinks the rows a resume kept, typed as the runs.csv reader types them, flagged as kept."""
    for row in load_runs(run_dir / "runs.csv").to_dict("records"):
        sinks.row_recorded(JobOutcome(None, row), kept=True)


def run_options(options: RunOptions, argv: list[str] | None = None, progress: Progress | None = None,
                epoch_progress: EpochProgress | None = None,
                resume_dir: str | Path | None = None, listeners: Sequence[tuple[str, Sink]] = ()) -> RunResult:
    """Run the whole grid, or with `resume_dir` what an interrupted run left undone, in its folder.

    Each event goes to the sinks: the run folder's, then the plugins', the exporters', and `listeners` (the
    caller's own, each with the words that name it in a warning). The result holds every row of the run
    folder and what the user should know (see RunResult). Ctrl-C raises `RunInterrupted`; a file-system error
    (a full disk) is a `BenchInputError` that says how to resume.
    """
    registry = get_registry(options.plugins_dir)
    for name in options.tasks:
        registry.task(name)  # unknown names are bad input before anything is built
    cells = [registry.cell(name) for name in (options.cells or registry.cells)]
    check_task_options_target(options, registry.tasks)
    check_cell_options_target(options.cell_opts, [cell.name for cell in cells], registry.cells)
    check_grid_size(options, len(cells), {name: registry.task(name).causal for name in options.tasks})
    device = resolve_device(options.device)
    check_precision(options.precision, device)
    executor = get_executor(options.executor, options)  # before any folder: a missing engine is bad input
    out = Path(resume_dir).parent if resume_dir is not None else Path(options.out)
    exporters = open_exporters(options.export or (), registry, out)  # a missing extra is bad input, before any folder
    datasets = _build_tasks(options, registry)
    notes: list[str] = []
    jobs = _plan(options, registry, cells, datasets, device, notes)

    argv = argv or sys.argv
    code = code_record(registry)  # rows name it in code_version; meta.json lists each run's and resume's
    kept = 0
    with thread_count(options.threads), ExitStack() as stack:
        if resume_dir is None:
            run_dir = create_run_dir(options.out)
            stack.enter_context(RunLock(run_dir))
            environment = collect_meta(device, device_name(device), argv)
            write_json(run_dir / "meta.json", {**environment, "options": options_record(options),
                                               "plugins": plugin_records(registry),
                                               "input_files": input_files(options),
                                               "code": [{**code, "since": environment["started_at"]}]})
        else:
            run_dir = Path(resume_dir)
            stack.enter_context(RunLock(run_dir))  # before reading what to keep: of two resumes, one proceeds
            refuse_links(run_dir, RUN_FILES)
            done = prepare_resume(run_dir, device, {job.key for job in jobs})
            kept, jobs = len(done), [job for job in jobs if job.key not in done]
            record_resume(run_dir, argv, options_record(options), kept, len(jobs), code)
        meta = load_meta(run_dir / "meta.json")
        sinks = stack.enter_context(RunSinks(run_dir, registry.sinks,
                                             [*((f"{exporter.name} exporter", exporter.sink)
                                                for exporter in exporters), *listeners]))
        sinks.run_started(meta)
        record_exports(run_dir, [exporter for exporter in exporters if exporter.sink.parent])
        if kept:
            _tell_kept(sinks, run_dir)
        scratch = stack.enter_context(scratch_folder(run_dir))
        requests = [JobRequest(job, device, options.timeout, options.threads, options.plugins_dir,
                               task_failure=datasets[job.task][1], save_model=options.save_models,
                               precision=options.precision, compile=options.compile,
                               scratch_dir=str(scratch),
                               provenance={**registry.provenance(job.cell, job.task),
                                           "code_version": code["fingerprint"]})
                    for job in jobs]
        try:
            not_run = _run_jobs(executor, requests, datasets, options, sinks, progress, epoch_progress)
        except KeyboardInterrupt:
            raise RunInterrupted(str(run_dir), _finished_rows(run_dir), kept + len(jobs),
                                 resume_command(run_dir, options)) from None
        except OSError as exc:  # a full disk, a folder gone read-only: what is on disk is whole rows
            raise BenchInputError(f"cannot write the run: {describe_os_error(exc)}. The {_finished_rows(run_dir)} "
                                  f"rows finished before are kept in {run_dir}/runs.csv; fix that (e.g. free some "
                                  f"space), then finish the run with: {resume_command(run_dir, options)}") from None
        result = RunResult(run_dir, load_runs(run_dir / "runs.csv"), meta, not_run, resume_command(run_dir, options),
                           notes, kept)
        sinks.run_finished(result)
    return result


def resume_command(run_dir: Path, options: RunOptions) -> str:
    """The command that finishes this run (a resume loads plugin files only from a --plugins-dir, and reaches a
    cluster only at a --ray-address, given again)."""
    plugins = f" --plugins-dir {shlex.quote(options.plugins_dir)}" if options.plugins_dir else ""
    cluster = f" --ray-address {shlex.quote(options.ray_address)}" if options.ray_address else ""
    return f"bench run --resume {shlex.quote(str(run_dir))}{plugins}{cluster}"


def _finished_rows(run_dir: Path) -> int:
    runs = run_dir / "runs.csv"
    return len(read_csv_rows(runs)) if runs.exists() else 0


def choose_options(given: dict[str, Any], resume: str | Path | None = None) -> RunOptions:
    """The options of a run as given (unparsed), or with `resume` the interrupted run's own with `given` on top."""
    if resume is not None:
        return resume_options(resume, given)
    if given.get("tasks") is None:
        raise BenchInputError("--tasks: name the tasks to run (see `bench list`), "
                              "or resume a run with --resume RUN_DIR")
    options = RunOptions.parse(**given)
    for name, spec in OPTIONS.items():
        if spec.resume is Resume.THIS_RESUME and getattr(options, name):
            raise BenchInputError(f"{spec.flag_name}: only with --resume RUN_DIR, for that resume alone")
    return options


def run(tasks: Any = None, cells: Any = None, resume: str | Path | None = None, **options: Any) -> RunResult:
    """`bench run` from Python: the same options, by keyword (None means not given); returns the run's result."""
    given = {name: value for name, value in {"tasks": tasks, "cells": cells, **options}.items() if value is not None}
    return run_options(choose_options(given, resume), resume_dir=resume)
