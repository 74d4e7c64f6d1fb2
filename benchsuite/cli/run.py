"""`bench run`: train every selected variant on every selected task, print the table, write the report."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from click.core import ParameterSource

from ..errors import RunInterrupted
from ..execution import EXECUTORS
from ..results.schema import FAILED_STATUSES

INTERRUPTED_EXIT = 130  # what shells report for a process ended by Ctrl-C


@click.command("run")
@click.option("--tasks", default=None, help="Comma-separated task names (see `bench list`); required unless --resume.")
@click.option("--cells", default=None, help="Comma-separated cell names [default: every cell].")
@click.option("--layers", default=None, help="Layer counts, e.g. 1,2 [default: the task's].")
@click.option("--directions", default=None,
              help="uni, bi or uni,bi [default: uni on causal tasks, both otherwise].")
@click.option("--hidden", type=int, default=None, help="Hidden size [default: the task's].")
@click.option("--epochs", type=int, default=None, help="Training epochs [default: the task's].")
@click.option("--lr", type=float, default=None, help="Adam learning rate [default: the task's].")
@click.option("--batch-size", default=None,
              help="Samples per training step, or 'full' for one step per epoch [default: the task's].")
@click.option("--seeds", default="0", show_default=True, help="Comma-separated seeds; one row per seed.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["cpu", "cuda", "auto"]))
@click.option("--out", default="results", show_default=True, help="Folder that receives the run folder.")
@click.option("--task-opt", "task_opts", multiple=True, metavar="TASK.KEY=VALUE",
              help="A task option, e.g. delay.gap=50 (repeatable).")
@click.option("--plugins-dir", default=None, help="Also load every *.py plugin file in this folder.")
@click.option("--timeout", type=float, default=None, help="Seconds one training run may take (checked between steps).")
@click.option("--threads", type=int, default=None,
              help="torch's intra-op thread count for the run [default: torch's own choice].")
@click.option("--target", type=float, default=None,
              help="Accuracy for time-to-target [default: 0.99 x the task's ceiling, else 0.99].")
@click.option("--executor", type=click.Choice(list(EXECUTORS)), default=None,
              help="Where jobs run: in this process (inline), each in a child process (isolated), or as Ray tasks "
                   "(ray; needs pip install 'benchsuite[ray]') [default: inline].")
@click.option("--isolate/--no-isolate", default=False,
              help="Run each training run in a child process, so a crash or kill of it becomes an error row "
                   "(the same as --executor isolated).")
@click.option("--workers", type=int, default=None,
              help="--executor ray: jobs at once on the local Ray instance the run starts [default: one per core].")
@click.option("--ray-address", default=None, metavar="HOST:PORT",
              help="--executor ray: use this existing Ray cluster (also read from RAY_ADDRESS) instead of a local "
                   "instance.")
@click.option("--gpus-per-job", type=float, default=None,
              help="--executor ray: each CUDA job's share of a GPU, e.g. 0.25 for four jobs per GPU [default: 1].")
@click.option("--fail-fast/--no-fail-fast", default=False, help="Stop at the first row that is not ok or skipped.")
@click.option("--save-models", is_flag=True, default=False,
              help="Keep each ok row's trained model in RUN_DIR/models (for `bench sample`).")
@click.option("--resume", default=None, metavar="RUN_DIR",
              help="Finish an interrupted run in its folder: rows already ok are kept, the rest run; options "
                   "default to the run's own (--epochs, --lr, --task-opt, --batch-size, --target, --threads and the "
                   "device cannot change).")
@click.option("--no-report", is_flag=True, help="Do not write summary.md and plots at the end.")
@click.option("--quiet", is_flag=True, help="No progress on stderr (a bar on a terminal, one line per row otherwise).")
@click.pass_context
def run_command(ctx: click.Context, resume: str | None, no_report: bool, quiet: bool, **options: object) -> None:
    """Train every selected cell variant on every selected task and record the results."""
    from ..report.progress import run_progress
    from ..sweep import choose_options, run_options
    from ..report.console import format_runs, noise_line

    given = {name: value for name, value in options.items()
             if resume is None or ctx.get_parameter_source(name) is not ParameterSource.DEFAULT}
    try:
        with run_progress(quiet) as display:
            table = run_options(choose_options(given, resume), argv=sys.argv, resume_dir=resume,
                                progress=None if display is None else display.finished,
                                epoch_progress=None if display is None else display.epoch)
    except RunInterrupted as stop:
        click.echo(str(stop), err=True)
        sys.exit(INTERRUPTED_EXIT)
    except KeyboardInterrupt:
        click.echo("interrupted before any row was recorded", err=True)
        sys.exit(INTERRUPTED_EXIT)
    click.echo(format_runs(table))
    noise = noise_line(table)
    if noise:
        click.echo(noise, err=True)
    run_dir = Path(table.attrs["run_dir"])
    click.echo(f"\nresults: {run_dir}/runs.csv")
    if table.attrs["not_run"]:
        click.echo(f"--fail-fast: stopped at the first failure with {table.attrs['not_run']} rows not run; "
                   f"finish with: bench run --resume {run_dir} --no-fail-fast", err=True)
    if not no_report:
        _report_after_run(run_dir)
    if table["status"].isin(FAILED_STATUSES).any():
        sys.exit(1)


def _report_after_run(run_dir: Path) -> None:
    """The report of a finished run; if it fails, the results are still there and the exit code stays theirs."""
    from ..report.markdown import write_report

    try:
        written = write_report(run_dir)
    except Exception as exc:  # a plotting problem must not hide or fail a finished run
        click.echo(f"warning: no report ({type(exc).__name__}: {exc}); retry with `bench report {run_dir}`",
                   err=True)
        return
    click.echo(f"report: {written[0]} ({len(written) - 1} plots)")
