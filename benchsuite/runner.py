"""One benchmark run: check the request, build the tasks, plan the grid, train each job, record each row."""
from __future__ import annotations

import math
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .backends import get_backend
from .devices import device_name, resolve_device
from .errors import BenchInputError
from .meta import collect_meta
from .plan import Job, RunOptions, check_task_options_target, plan_task
from .plugins import get_registry
from .results import RunWriter, create_run_dir, write_json
from .specs import CellConfig, TaskData
from .tasks import build_task, effective_defaults
from .timing import median_iqr_ms
from .train import train

if TYPE_CHECKING:
    import pandas

Progress = Callable[[int, int, dict[str, Any]], None]


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


def execute(job: Job, data: TaskData, device: str, timeout: float | None,
            error_log: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Train and measure one job; any failure becomes the row's status and error, never an exception."""
    row = _base_row(job, device, data)
    curve: list[dict[str, Any]] = []
    if job.skip_reason:
        return {**row, "status": "skipped", "error": job.skip_reason}, curve
    try:
        backend = get_backend(job.cell.backend)
        config = CellConfig(len(data.vocab), job.hidden_size, job.num_layers, job.bidirectional)
        session = backend.open_session(job.cell, config, data, job.lr, device, job.seed, job.batch_size)
        row["params"] = session.param_count
        result = train(session, job.epochs, timeout)
        median, iqr = median_iqr_ms(result.step_seconds)
        row.update(status=result.status, error=result.error, epochs=result.epochs,
                   train_seconds=result.train_seconds, step_ms_median=median, step_ms_iqr=iqr)
        for record in result.curve:
            curve += [{"epoch": record.epoch, "metric": "loss", "value": record.loss},
                      {"epoch": record.epoch, "metric": "accuracy", "value": record.accuracy}]
        if result.status == "ok":
            trained = session.evaluate("train")
            row.update(final_loss=trained.loss, accuracy=trained.accuracy)
            valid = session.evaluate("valid")
            if valid is not None:
                row.update(valid_loss=valid.loss, valid_accuracy=valid.accuracy, bpc=valid.loss / math.log(2))
    except Exception as exc:  # a failing cell is recorded and the run goes on
        row.update(status="error", error=f"{type(exc).__name__}: {exc}")
        with open(error_log, "a", encoding="utf-8") as log:
            log.write(f"--- {job.task} {job.cell.name} layers={job.num_layers} "
                      f"bidirectional={job.bidirectional} seed={job.seed}\n{traceback.format_exc()}\n")
    return row, curve


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


def run_options(options: RunOptions, argv: list[str] | None = None,
                progress: Progress | None = None) -> "pandas.DataFrame":
    """Run the whole grid; the returned table's `attrs["run_dir"]` names the folder it was written to."""
    import pandas

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
        jobs += plan_task(options, spec.name, spec.causal, defaults, cells, device)

    run_dir = create_run_dir(options.out)
    write_json(run_dir / "meta.json", collect_meta(device, device_name(device), argv or sys.argv))
    with RunWriter(run_dir) as writer:
        for index, job in enumerate(jobs, start=1):
            data, failure = datasets[job.task]
            if data is None:
                row, curve = {**_base_row(job, device, None), "status": "error", "error": failure}, []
            else:
                row, curve = execute(job, data, device, options.timeout, run_dir / "errors.log")
            writer.append(row, curve)
            if progress is not None:
                progress(index, len(jobs), row)
    table = pandas.read_csv(run_dir / "runs.csv", keep_default_na=False, na_values=[""])
    table.attrs["run_dir"] = str(run_dir)
    return table


def run(tasks: Any, cells: Any = None, **options: Any) -> "pandas.DataFrame":
    """`bench run` from Python: the same options, by keyword; returns the runs table."""
    return run_options(RunOptions.parse(tasks=tasks, cells=cells, **options))
