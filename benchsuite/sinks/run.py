"""Where a run's events go: the run folder's files first, then every sink the plugins registered.

The driver hands each event (run started, row recorded, run finished) to `RunSinks`, which calls the run folder's
sink and then the plugins' in load order. The run folder's sink is the run: its errors (a full disk) end the run as
before. A plugin's sink is a listener: one that raises is named on stderr and in errors.log and hears no more of
that run, so the run goes on and keeps every row.
"""
from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..checkpoints import write_model
from ..execution.job import JobOutcome
from ..registry.loading import Registered
from ..results.files import RunWriter, append_text
from ..results.load import RunResult
from ..results.schema import SETTING_COLUMNS
from ..results.summary import write_summary
from ..specs import Sink


def log_failure(error_log: Path, outcome: JobOutcome) -> None:
    """Append what went wrong in `outcome`'s job to the run's error log, under a line naming the job."""
    job = outcome.job
    settings = " ".join(f"{column}={value}" for column, value in job.key_fields().items() if column in SETTING_COLUMNS)
    append_text(error_log, f"--- {job.task} {job.cell} layers={job.num_layers} bidirectional={job.bidirectional} "
                           f"hidden_size={job.hidden_size} {settings} seed={job.seed}\n"
                           f"{outcome.failure_details.rstrip()}\n\n")


class RunFolderSink(Sink):
    """The run folder's files: each new row appended and fsynced as it arrives (runs.csv, its details, errors.log,
    a saved model), and summary.csv once every row is in. Kept rows are on disk already."""

    def __init__(self) -> None:
        self.writer: RunWriter | None = None

    def run_started(self, run_dir: Path, meta: Mapping[str, Any]) -> None:
        self.run_dir, self.writer = run_dir, RunWriter(run_dir)

    def row_recorded(self, outcome: JobOutcome, kept: bool) -> None:
        if kept:
            return
        if outcome.failure_details:
            log_failure(self.run_dir / "errors.log", outcome)
        if outcome.model is not None:  # before the row, which promises that its files are on disk
            write_model(self.run_dir, outcome.model)
        self.writer.append(outcome.row, outcome.curve, outcome.samples, outcome.slices)

    def run_finished(self, result: RunResult) -> None:
        write_summary(self.run_dir)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class RunSinks:
    """The run folder's sink, then the plugins' sinks, then the others: the exporters the run asked for (`--export`)
    and the caller's own listeners, each named by the words a warning uses for it. Each event is handed to every one
    still listening."""

    def __init__(self, run_dir: Path, plugin_sinks: Sequence[Registered[Sink]],
                 others: Sequence[tuple[str, Sink]] = ()) -> None:
        self.run_dir, self.folder = run_dir, RunFolderSink()
        # Each listener with the words that name it in a warning.
        self.listening = [(f"sink of plugin {entry.plugin}", entry.spec) for entry in plugin_sinks]
        self.listening += others

    def run_started(self, meta: Mapping[str, Any]) -> None:
        self.folder.run_started(self.run_dir, meta)
        self._tell("run_started", self.run_dir, meta)

    def row_recorded(self, outcome: JobOutcome, kept: bool = False) -> None:
        self.folder.row_recorded(outcome, kept)
        self._tell("row_recorded", outcome, kept)

    def run_finished(self, result: RunResult) -> None:
        self.folder.run_finished(result)
        self._tell("run_finished", result)

    def close(self) -> None:
        self.folder.close()

    def _tell(self, event: str, *arguments: Any) -> None:
        for listener in list(self.listening):
            who, sink = listener
            try:
                getattr(sink, event)(*arguments)
            except Exception as exc:  # plugin code: its failure costs its own listening, never a row
                self.listening.remove(listener)
                message = (f"the {who} failed on {event} ({type(exc).__name__}: {exc}); it hears no more of this "
                           "run, whose rows are all kept")
                print(f"warning: {message}", file=sys.stderr)
                append_text(self.run_dir / "errors.log", f"--- {who}: {message}\n"
                                                         f"{traceback.format_exc().rstrip()}\n\n")

    def __enter__(self) -> RunSinks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
