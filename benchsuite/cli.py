"""The `bench` command. Click wiring only: parse, call, print. Heavy imports stay inside the commands."""
from __future__ import annotations

import sys

import click

from .errors import BenchInputError

FAILED_STATUSES = ("error", "diverged", "timeout")


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
@click.option("--tasks", required=True, help="Comma-separated task names (see `bench list`).")
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
@click.option("--timeout", type=float, default=None, help="Seconds one training run may take.")
def run_command(**options: object) -> None:
    """Train every selected cell variant on every selected task and record the results."""
    from .plan import RunOptions
    from .runner import run_options
    from .table import format_runs, progress_line

    parsed = RunOptions.parse(**options)
    table = run_options(parsed, argv=sys.argv,
                        progress=lambda i, n, row: click.echo(progress_line(i, n, row), err=True))
    click.echo(format_runs(table))
    click.echo(f"\nresults: {table.attrs['run_dir']}/runs.csv")
    if table["status"].isin(FAILED_STATUSES).any():
        sys.exit(1)


@main.command("list")
@click.option("--plugins-dir", default=None, help="Also load every *.py plugin file in this folder.")
def list_command(plugins_dir: str | None) -> None:
    """The cells and tasks every loaded plugin offers."""
    from .listing import format_listing
    from .plugins import get_registry

    click.echo(format_listing(get_registry(plugins_dir)))
