"""One benchmark run: check the request, build the tasks, plan the grid, train each job, record each row."""
from __future__ import annotations

import sys
import traceback
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .backends import get_backend
from .devices import device_name, resolve_device
from .errors import BenchInputError
from .measure import measure
from .memory import PeakMemory
from .meta import collect_meta
from .plan import Job, RunOptions, check_task_options_target, plan_task
from .plugins import get_registry
from .results import RunWriter, create_run_dir, read_runs, write_json
from .specs import CellConfig, TaskData
from .summary import write_summary
from .tasks import build_task, effective_defaults
from .timing import thread_count, threads_in_use
from .train import EpochRecord

if TYPE_CHECKING:
    import pandas

Progress = Callable[[int, int, dict[str, Any]], None]
EpochProgress = Callable[[int, int, Job, EpochRecord], None]  # job's index and total, the job, its epoch


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
            ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Train and measure one job: (row, curve points, timing samples); any failure becomes the row's status and
    error, never an exception."""
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
            measured = measure(session, job.epochs, timeout, job.target, on_epoch)
        row.update(measured.fields, peak_memory_mb=peak.mib)
        curve, samples = measured.curve, measured.samples
    except Exception as exc:  # a failing cell is recorded and the run goes on
        row.update(status="error", error=f"{type(exc).__name__}: {exc}")
        with open(error_log, "a", encoding="utf-8") as log:
            log.write(f"--- {job.task} {job.cell.name} layers={job.num_layers} "
                      f"bidirectional={job.bidirectional} seed={job.seed}\n{traceback.format_exc()}\n")
    return row, curve, samples


def _build_tasks(options: RunOptions, registry: Any) -> dict[str, tuple[TaskData | None, str]]:
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


def run_options(options: RunOptions, argv: list[str] | None = None, progress: Progress | None = None,
                epoch_progress: EpochProgress | None = None) -> "pandas.DataFrame":
    """Run the whole grid; the returned table's `attrs["run_dir"]` names the folder it was written to."""
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

    run_dir = create_run_dir(options.out)
    with thread_count(options.threads), RunWriter(run_dir) as writer:
        write_json(run_dir / "meta.json", collect_meta(device, device_name(device), argv or sys.argv))
        for index, job in enumerate(jobs, start=1):
            data, failure = datasets[job.task]
            if data is None:
                row, curve, samples = {**_base_row(job, device, None), "status": "error", "error": failure}, [], []
            else:
                on_epoch = None if epoch_progress is None else partial(epoch_progress, index, len(jobs), job)
                row, curve, samples = execute(job, data, device, options.timeout, run_dir / "errors.log", on_epoch)
            writer.append(row, curve, samples)
            if progress is not None:
                progress(index, len(jobs), row)
    write_summary(run_dir)
    table = read_runs(run_dir)
    table.attrs["run_dir"] = str(run_dir)
    return table


def run(tasks: Any, cells: Any = None, **options: Any) -> "pandas.DataFrame":
    """`bench run` from Python: the same options, by keyword; returns the runs table."""
    return run_options(RunOptions.parse(tasks=tasks, cells=cells, **options))
