"""The `bench` command. Click wiring only: parse, call, print. Heavy imports stay inside the commands."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from click.core import ParameterSource

from ..errors import BenchInputError, RunInterrupted
from ..results.schema import FAILED_STATUSES
from ..compare.significance import DEFAULT_ALPHA

INTERRUPTED_EXIT = 130  # what shells report for a process ended by Ctrl-C


class InputError(click.ClickException):
    """Bad input: one message on stderr, exit code 2."""

    exit_code = 2


class BenchGroup(click.Group):
    """Turns bad-input errors raised anywhere below a command into exit code 2 without a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except BenchInputError as exc:
            raise InputError(str(exc)) from None


@click.group(cls=BenchGroup)
@click.version_option(package_name="benchsuite")
def main() -> None:
    """Benchmark recurrent cells on char-level tasks: train, measure, record."""


@main.command("run")
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
@click.option("--isolate/--no-isolate", default=False,
              help="Run each training run in a child process, so a crash or kill of it becomes an error row.")
@click.option("--fail-fast/--no-fail-fast", default=False, help="Stop at the first row that is not ok or skipped.")
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
    from ..report.console import format_runs, noise_warnings

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
    for warning in noise_warnings(table):
        click.echo(warning, err=True)
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


@main.command("list")
@click.option("--plugins-dir", default=None, help="Also load every *.py plugin file in this folder.")
def list_command(plugins_dir: str | None) -> None:
    """The cells and tasks every loaded plugin offers."""
    from ..report.listing import format_listing
    from ..registry.loading import get_registry

    click.echo(format_listing(get_registry(plugins_dir)))


@main.command("plugins")
@click.option("--plugins-dir", default=None, help="Also load every *.py plugin file in this folder.")
def plugins_command(plugins_dir: str | None) -> None:
    """Every plugin with its version, where it came from, and what it registered."""
    from ..report.listing import format_plugins
    from ..registry.loading import get_registry

    click.echo(format_plugins(get_registry(plugins_dir)))


@main.command("compare")
@click.argument("a")
@click.argument("b")
@click.option("--threshold", "thresholds", multiple=True, metavar="METRIC=VALUE",
              help="Change a metric's threshold: a factor for times and memory (default 1.10), "
                   "an absolute difference for accuracies and losses (default 0.01). Repeatable.")
@click.option("--alpha", type=float, default=DEFAULT_ALPHA, show_default=True,
              help="Significance level of the Mann-Whitney U test.")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "csv", "json"]), default="text",
              show_default=True, help="Output for people (text, md) or machines (csv, json).")
def compare_command(a: str, b: str, thresholds: tuple[str, ...], alpha: float, fmt: str) -> None:
    """Compare B against A and name what regressed.

    A and B are each a runs.csv, a run folder or a pytest-benchmark JSON file. Exits 1 when a metric got
    worse beyond its threshold and significantly so, or when a row newly fails.
    """
    from ..compare.verdicts import compare_paths
    from ..compare.output import format_comparison
    from ..results.metrics import parse_thresholds

    comparison = compare_paths(a, b, parse_thresholds(thresholds), alpha)
    click.echo(format_comparison(comparison, fmt), nl=False)
    if comparison.regressed:
        sys.exit(1)


@main.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
def report_command(run_dir: Path) -> None:
    """Write summary.md and PNG plots into RUN_DIR (made by `bench run`)."""
    from ..report.markdown import write_report

    for path in write_report(run_dir):
        click.echo(f"wrote {path}")
