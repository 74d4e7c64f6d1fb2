"""`bench run`: train every selected variant on every selected task, print the table, write the report."""
from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from dataclasses import MISSING
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click
from click.core import ParameterSource

from ..errors import BenchInputError, RunInterrupted

if TYPE_CHECKING:
    from ..planning.options import Option, RunOptions
    from ..report.plot_worker import PlotWorker
    from ..results.load import RunResult
    from ..specs import Sink

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


class LeadingFlagsCommand(click.Command):
    """A command whose first flags are built when first asked for, so that listing the commands (`bench --help`)
    does not import the option table and all it names (about 20 ms of a 130 ms start)."""

    def __init__(self, *args: Any, leading_flags: Callable[[], list[click.Parameter]], **kwargs: Any) -> None:
        self._leading_flags: Callable[[], list[click.Parameter]] | None = leading_flags
        super().__init__(*args, **kwargs)

    @property
    def params(self) -> list[click.Parameter]:  # type: ignore[override]
        if self._leading_flags is not None:
            build, self._leading_flags = self._leading_flags, None
            self._params[:0] = build()
        return self._params

    @params.setter
    def params(self, value: list[click.Parameter]) -> None:
        self._params = value


def run_option_flags() -> list[click.Parameter]:
    """A click option for every input of `bench run`, in the order planning/options.py declares them."""
    from ..planning.options import INPUTS

    return [click.Option([spec.flag, name], **_click_settings(name, spec)) for name, spec in INPUTS.items()]


def _click_settings(name: str, spec: Option) -> dict[str, object]:
    """The click settings of one option: its type follows from the values it takes; a comma list is text."""
    from ..execution import EXECUTORS
    from ..planning.options import FLAG, NUMBER, OPTIONS, TABLES, WHOLE, RunOptions

    click_types = {WHOLE: click.INT, NUMBER: click.FLOAT}  # a single value of these kinds; text otherwise
    # Choices the planner cannot name: the executors live in a package above it (checked when the run starts).
    choices_named_above_planning = {"executor": tuple(EXECUTORS)}
    settings: dict[str, object] = {"help": spec.help or None, "metavar": spec.metavar}
    if spec.kinds == FLAG:
        negatable = "/" in spec.flag  # '--fail-fast/--no-fail-fast' declares its own pair
        return {**settings, "default": False, **({} if negatable else {"is_flag": True})}
    if spec.kinds == TABLES:
        return {**settings, "multiple": True}
    choices = choices_named_above_planning.get(name, spec.choices)
    if choices:
        settings["type"] = click.Choice(list(choices))
    elif not spec.listed and spec.kinds in click_types:
        settings["type"] = click_types[spec.kinds]
    default = RunOptions.__dataclass_fields__[name].default if name in OPTIONS else None
    if default not in (None, MISSING):
        # Shown in the help only: a value left at its default is not passed on (its source is DEFAULT).
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else str(default)
        settings.update(default=shown, show_default=True)
    return settings


@click.command("run", cls=LeadingFlagsCommand, leading_flags=run_option_flags)
@click.option("--resume", default=None, metavar="RUN_DIR",
              help="Finish an interrupted run in its folder: rows already ok are kept, the rest run; options "
                   "default to the run's own (--task-opt, --cell-opt, --target, --threads and the device cannot "
                   "change, nor the files they name, nor the code unless --resume-across-versions). Plugin files "
                   "load only from a --plugins-dir, and a Ray cluster is reached only at a --ray-address, given "
                   "again.")
@click.option("--config", default=None, metavar="FILE.toml",
              help="A sweep file holding these options (see examples/sweeps/); flags given here go on top.")
@click.option("--no-report", is_flag=True, help="Do not write summary.md and plots at the end.")
@click.option("--quiet", is_flag=True, help="No progress on stderr (a bar on a terminal, one line per row otherwise).")
@click.pass_context
def run_command(ctx: click.Context, resume: str | None, config: str | None, no_report: bool, quiet: bool,
                **options: object) -> None:
    """Train every selected cell variant on every selected task and record the results."""
    from ..report.plot_worker import plot_worker
    from ..results.schema import FAILED_STATUSES

    with plot_worker(not no_report) as worker:  # first: forked while this process is one thread
        from ..sweep import choose_options  # (imports numpy, whose BLAS starts threads)

        given = {name: value for name, value in options.items()
                 if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT}
        if config is not None:
            from ..planning.sweepfile import read_sweep_file, with_command_line

            if resume is not None:
                raise BenchInputError("--config does not apply with --resume: the run's meta.json holds its sweep")
            given = with_command_line(read_sweep_file(config), given)
        result = run_and_report(choose_options(given, resume), resume, quiet, no_report, worker=worker)
    if result.runs["status"].isin(FAILED_STATUSES).any():
        sys.exit(1)


def run_and_report(chosen: RunOptions, resume: str | None, quiet: bool, no_report: bool,
                   on_interrupt: Callable[[RunInterrupted], None] | None = None,
                   worker: PlotWorker | None = None) -> RunResult:
    """Run the chosen grid (or finish `resume`) with progress on stderr, print the runs table and what to know,
    then write the report, its plots drawn by `worker` where there is one: `bench run`'s work after parsing, shared
    with `bench repro run`. An interrupted run exits 130 or 143 after `on_interrupt` has seen it."""
    result = _run(chosen, resume, quiet, on_interrupt, [] if worker is None else [("plot worker", worker)])
    _print_results(result)
    if not no_report:
        _report_after_run(result.run_dir, chosen.plugins_dir, None if worker is None else worker.drawn)
        if chosen.export:
            _export_report(result.run_dir, chosen.export, chosen.plugins_dir)
    return result


def _run(chosen: RunOptions, resume: str | None, quiet: bool, on_interrupt: Callable[[RunInterrupted], None] | None,
         listeners: list[tuple[str, Sink]]) -> RunResult:
    """The run with progress on stderr; an interruption exits 130 or 143 after `on_interrupt` has seen it."""
    from ..report.progress import run_progress
    from ..sweep import run_options

    with terminate_as_interrupt() as received:
        try:
            with run_progress(quiet) as display:
                return run_options(chosen, argv=sys.argv, resume_dir=resume,
                                   progress=None if display is None else display.finished,
                                   epoch_progress=None if display is None else display.epoch, listeners=listeners)
        except RunInterrupted as stop:
            click.echo(str(stop), err=True)
            if on_interrupt is not None:
                on_interrupt(stop)
            sys.exit(_interrupted_exit(received))
        except KeyboardInterrupt:
            click.echo("interrupted before any row was recorded", err=True)
            sys.exit(_interrupted_exit(received))


def _print_results(result: RunResult) -> None:
    """The runs table on stdout, what to know about it on stderr."""
    from ..report.console import format_runs, noise_line

    click.echo(format_runs(result.runs))
    for note in result.notes:
        click.echo(note, err=True)
    noise = noise_line(result.runs)
    if noise:
        click.echo(noise, err=True)
    click.echo(f"\nresults: {result.run_dir}/runs.csv")
    if result.not_run:
        click.echo(f"--fail-fast: stopped at the first failure with {result.not_run} rows not run; "
                   f"finish with: {result.resume_command} --no-fail-fast", err=True)


def _export_report(run_dir: Path, exports: tuple[str, ...], plugins_dir: str | None) -> None:
    """Send the report, written after the run's last event, to the trackers the run exported to (the rows are there:
    exporting again adds only the files); a failure leaves the run and its exit code alone."""
    from ..registry.loading import get_registry
    from ..sinks.export import export_run

    try:
        export_run(run_dir, exports, get_registry(plugins_dir))
    except Exception as exc:  # a tracker's failure must not fail a finished run
        click.echo(f"warning: the report was not exported ({type(exc).__name__}: {exc}); retry with `bench export "
                   f"{run_dir} --to {','.join(request.partition('=')[0] for request in exports)}`", err=True)


def _report_after_run(run_dir: Path, plugins_dir: str | None, drawn: Callable[[], list[Path] | None] | None) -> None:
    """The report of a finished run (its plots from `drawn`, where a worker drew them); if it fails, the results are
    still there and the exit code stays theirs."""
    import shlex

    from ..report.markdown import write_report

    try:
        written = write_report(run_dir, plugins_dir, drawn)
    except Exception as exc:  # a plotting problem must not hide or fail a finished run
        plugins = f" --plugins-dir {shlex.quote(plugins_dir)}" if plugins_dir else ""
        click.echo(f"warning: no report ({type(exc).__name__}: {exc}); retry with `bench report "
                   f"{shlex.quote(str(run_dir))}{plugins}`", err=True)
        return
    summary, page, *plots = written
    click.echo(f"report: {summary} ({len(plots)} plots) and {page}")
