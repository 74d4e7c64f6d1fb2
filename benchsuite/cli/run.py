"""`bench run`: train every selected variant on every selected task, print the table, write the report."""
from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
from click.core import ParameterSource

from ..errors import BenchInputError, RunInterrupted
from ..execution import EXECUTORS
from ..results.schema import FAILED_STATUSES

INTERRUPTED_EXIT = 130  # what shells report for a process ended by Ctrl-C
TERMINATED_EXIT = 143  # ... and by SIGTERM


@contextmanager
def terminate_as_interrupt() -> Iterator[list[int]]:
    """SIGTERM (a `kill`, a scheduler ending a job) stops the run like Ctrl-C: children stopped, temporary files
    removed, finished rows kept, a resume hint. Yields the signals received."""
    received: list[int] = []

    def interrupt(number: int, frame: object) -> None:
        received.append(number)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted_exit(received: list[int]) -> int:
    return TERMINATED_EXIT if signal.SIGTERM in received else INTERRUPTED_EXIT


@click.command("run")
@click.option("--tasks", default=None, help="Comma-separated task names (see `bench list`); required unless --resume.")
@click.option("--cells", default=None, help="Comma-separated cell names [default: every cell].")
@click.option("--layers", default=None, help="Layer counts, e.g. 1,2, at most 64 [default: the task's].")
@click.option("--directions", default=None,
              help="uni, bi or uni,bi [default: uni on causal tasks, both otherwise].")
@click.option("--hidden", default=None, help="Hidden sizes, e.g. 32,64 [default: the task's].")
@click.option("--epochs", default=None, help="Training epochs, e.g. 10,20 [default: the task's].")
@click.option("--lr", default=None,
              help="Adam learning rates, e.g. 3e-3,1e-2,3e-2 [default: the cell's, else the task's]. Lists of any of "
                   "the swept options make a grid, their product; each setting is part of a variant's identity.")
@click.option("--clip", default=None,
              help="Largest gradient norms, clipped to before each update; 'none' for no clipping, e.g. 0.5,1,none "
                   "[default: the cell's, else none].")
@click.option("--weight-decay", default=None,
              help="Decoupled weight decays (AdamW), e.g. 0,1e-4,1e-2 [default: the cell's, else 0, plain Adam].")
@click.option("--batch-size", default=None,
              help="Samples per training step, or 'full' for one step per epoch, e.g. 32,full [default: the task's].")
@click.option("--params", type=int, default=None,
              help="Matched capacity: each cell variant gets the hidden size whose model has the parameter count "
                   "closest to this (instead of --hidden).")
@click.option("--seeds", default="0", show_default=True,
              help="Comma-separated seeds from 0 to 2^32-1; one row per seed.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["cpu", "cuda", "auto"]))
@click.option("--out", default="results", show_default=True, help="Folder that receives the run folder.")
@click.option("--task-opt", "task_opts", multiple=True, metavar="TASK.KEY=VALUE",
              help="A task option, e.g. delay.gap=50 (repeatable).")
@click.option("--cell-opt", "cell_opts", multiple=True, metavar="CELL.KEY=VALUE",
              help="An option of a cell's build function, e.g. mycell.heads=4 (repeatable; see `bench list`).")
@click.option("--plugins-dir", default=None, help="Also load every *.py plugin file in this folder.")
@click.option("--timeout", type=float, default=None,
              help="Seconds one training run may take (checked between steps). With --isolate a child that takes "
                   "this plus a grace to build its cell, or to finish a step, is killed; without it nothing can "
                   "stop a cell whose build or step hangs.")
@click.option("--threads", type=int, default=None,
              help="torch's intra-op thread count for the run, at most 4 per CPU [default: torch's own choice].")
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
                   "default to the run's own (--task-opt, --cell-opt, --target, --threads and the device cannot "
                   "change). Plugin files load only from a --plugins-dir, and a Ray cluster is reached only at a "
                   "--ray-address, given again.")
@click.option("--config", default=None, metavar="FILE.toml",
              help="A sweep file holding these options (see examples/sweeps/); flags given here go on top.")
@click.option("--no-report", is_flag=True, help="Do not write summary.md and plots at the end.")
@click.option("--quiet", is_flag=True, help="No progress on stderr (a bar on a terminal, one line per row otherwise).")
@click.pass_context
def run_command(ctx: click.Context, resume: str | None, config: str | None, no_report: bool, quiet: bool,
                **options: object) -> None:
    """Train every selected cell variant on every selected task and record the results."""
    from ..report.progress import run_progress
    from ..sweep import choose_options, run_options
    from ..report.console import format_runs, noise_line

    given = {name: value for name, value in options.items()
             if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT}
    if config is not None:
        from ..planning.sweepfile import read_sweep_file, with_command_line

        if resume is not None:
            raise BenchInputError("--config does not apply with --resume: the run's meta.json holds its sweep")
        given = with_command_line(read_sweep_file(config), given)
    with terminate_as_interrupt() as received:
        try:
            with run_progress(quiet) as display:
                table = run_options(choose_options(given, resume), argv=sys.argv, resume_dir=resume,
                                    progress=None if display is None else display.finished,
                                    epoch_progress=None if display is None else display.epoch)
        except RunInterrupted as stop:
            click.echo(str(stop), err=True)
            sys.exit(_interrupted_exit(received))
        except KeyboardInterrupt:
            click.echo("interrupted before any row was recorded", err=True)
            sys.exit(_interrupted_exit(received))
    click.echo(format_runs(table))
    for note in table.attrs["notes"]:
        click.echo(note, err=True)
    noise = noise_line(table)
    if noise:
        click.echo(noise, err=True)
    run_dir = Path(table.attrs["run_dir"])
    click.echo(f"\nresults: {run_dir}/runs.csv")
    if table.attrs["not_run"]:
        click.echo(f"--fail-fast: stopped at the first failure with {table.attrs['not_run']} rows not run; "
                   f"finish with: {table.attrs['resume']} --no-fail-fast", err=True)
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
