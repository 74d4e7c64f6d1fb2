"""Progress of `bench run` on stderr: a live bar on a terminal, one line per finished row elsewhere (CI logs)."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, Iterator

import click

from ..results.naming import variant_label
from .console import progress_line

if TYPE_CHECKING:
    from ..measurement.train import EpochRecord
    from ..planning.grid import Job


class RowLines:
    """One line per finished row: readable in a log that cannot redraw a bar."""

    def epoch(self, index: int, total: int, job: Job, record: EpochRecord) -> None:
        """Per-epoch figures would flood a log; only finished rows are written."""

    def finished(self, index: int, total: int, row: dict[str, Any]) -> None:
        click.echo(progress_line(index, total, row), err=True)


class ProgressBar:
    """A rich progress bar over the grid; finished rows are printed above it as they come."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(file=stream), transient=True)
        self.task_id = self.progress.add_task("planning", total=None)

    def epoch(self, index: int, total: int, job: Job, record: EpochRecord) -> None:
        label = variant_label(job.key_fields())
        self.progress.update(self.task_id, total=total, completed=index - 1,
                             description=f"{label}  epoch {record.epoch}/{job.settings['max_epochs']}"
                                         f"  loss {record.loss:.4f}")

    def finished(self, index: int, total: int, row: dict[str, Any]) -> None:
        self.progress.console.print(progress_line(index, total, row), markup=False, highlight=False)
        self.progress.update(self.task_id, total=total, completed=index)

    def __enter__(self) -> ProgressBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


@contextmanager
def run_progress(quiet: bool, stream: IO[str] | None = None) -> Iterator[RowLines | ProgressBar | None]:
    """The progress display for a run: None when quiet, a bar when `stream` (stderr) is a terminal, else lines."""
    stream = stream or sys.stderr
    if quiet:
        yield None
    elif stream.isatty():
        with ProgressBar(stream) as bar:
            yield bar
    else:
        yield RowLines()
