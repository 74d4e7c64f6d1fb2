"""`bench repro list | run NAME | report RUN_DIR`: published results, reproduced as ordinary runs."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import BenchInputError, RunInterrupted
from .run import LeadingFlagsCommand, run_and_report, run_command

# The `bench run` options a reproduction run also takes; the protocol sets the rest.
RUN_OPTIONS = ("executor", "workers", "ray_address", "device", "out", "threads", "timeout", "plugins_dir", "task_opts")


@click.group("repro")
def repro_group() -> None:
    """Reproduce published tables: list them, run one, or write its report for a run folder."""


@repro_group.command("list")
def list_command() -> None:
    """Every reproduction, with its scales and source."""
    from .. import repro

    for name in repro.names():
        reproduction = repro.load(name)
        click.echo(f"{name}  [{', '.join(reproduction.scales())}]  {reproduction.title}")


def _run_flags() -> list[click.Parameter]:
    """The run options a reproduction passes through, taken from `bench run`'s own click options."""
    return [parameter for parameter in run_command.params if parameter.name in RUN_OPTIONS]


@repro_group.command("run", cls=LeadingFlagsCommand, leading_flags=_run_flags)
@click.argument("name")
@click.option("--scale", default="cpu", show_default=True, metavar="smoke|cpu|paper",
              help="paper: the published protocol; cpu: a stated smaller one for a 2-core machine; smoke: CI's.")
@click.option("--print", "print_only", is_flag=True, help="Show the grid and its size; run nothing.")
@click.option("--resume", default=None, metavar="RUN_DIR", help="Finish an interrupted reproduction run.")
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
@click.pass_context
def run_repro_command(ctx: click.Context, name: str, scale: str, print_only: bool, resume: str | None, quiet: bool,
                      **options: object) -> None:
    """Run reproduction NAME as an ordinary run (its folder, table and report, summary.md among it), then write
    repro.md and repro.csv into its folder."""
    from click.core import ParameterSource

    from .. import repro
    from ..planning.options import OPTIONS
    from ..report.plot_worker import plot_worker

    with plot_worker(not print_only) as worker:  # first: forked while this process is one thread
        reproduction = repro.load(name)
        reproduction.protocol(scale)
        if print_only:
            click.echo(repro.format_grid(reproduction, scale))
            return
        grid = repro.run_grid(reproduction, scale)
        if grid.missing:
            raise BenchInputError(f"{name} at the {scale} scale needs options this build lacks: "
                                  f"{', '.join(sorted(grid.missing))} (the block backbone's); `--print` shows the grid")
        given = {key: value for key, value in options.items()
                 if ctx.get_parameter_source(key) is not ParameterSource.DEFAULT}
        # the user's task options (e.g. the corpus's path) join the protocol's, never replace them
        user = OPTIONS["task_opts"].parse(given.pop("task_opts", ()), OPTIONS["task_opts"].flag_name)
        # resuming, the run folder holds the protocol; only where and how it runs may change (e.g. --executor)
        args = given if resume else {**repro.with_user_task_options(reproduction, grid, user), **given}
        from ..results.schema import FAILED_STATUSES
        from ..sweep import choose_options

        def keep_record(stop: RunInterrupted) -> None:
            # the folder says which reproduction it holds, so its finished rows can be reported and the run finished
            repro.write_record(Path(stop.run_dir), reproduction, scale)
            click.echo(f"partial figures: bench repro report {stop.run_dir}; finish with: bench repro run {name} "
                       f"--scale {scale} --resume {stop.run_dir}", err=True)

        result = run_and_report(choose_options(args, resume), resume, quiet, no_report=False,
                                on_interrupt=keep_record, worker=worker)
    repro.write_record(result.run_dir, reproduction, scale)
    written = repro.write_report(result.run_dir, reproduction, scale)
    click.echo(written[0].read_text(encoding="utf-8"))
    click.echo(f"reproduction: {', '.join(str(path) for path in written)}")
    if result.runs["status"].isin(FAILED_STATUSES).any():
        sys.exit(1)


@repro_group.command("report")
@click.argument("run_dir")
def report_command(run_dir: str) -> None:
    """Write repro.md and repro.csv again for a reproduction's run folder."""
    from .. import repro

    written = repro.write_report(run_dir)
    click.echo(written[0].read_text(encoding="utf-8"))
