"""Exporting runs to experiment trackers: the mapping every tracker shares, and exporting a run folder after the fact.

An exporter is a sink made on request (`bench run --export NAME`, `bench export RUN_DIR --to NAME`): a plugin's
`ExporterSpec.open` returns an `Exporter`, which puts each event in the tracker's terms. The run folder is a parent
run; each row a child run with its settings as params, task, cell, variant, seed and status as tags, its per-epoch
curves as step metrics and its final figures as metrics; the run's files (runs.csv, summary.md, plots, saved models)
are the parent's artifacts. Each child carries a key that names its row the same way in every export, so exporting
again skips the rows the store has, and a row a resume ran again replaces its child: each row is in the store once.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import BenchInputError
from ..results.naming import variant_name
from ..results.schema import EXTRAS_COLUMN, KEY_COLUMNS, NUMERIC_COLUMNS, is_blank, row_key
from ..specs import Sink

if TYPE_CHECKING:  # a plugin imports `benchsuite.Exporter` at its top, so what reads and writes run folders is
    # imported where it is used: `bench list` imports every plugin and stays fast
    from ..registry.loading import Registry
    from ..results.load import RunResult

# What a child run carries besides its key: the settings it was trained with (params), and the figures it reached.
RUN_SETTINGS = [*KEY_COLUMNS, "device", "precision", "cell_options", "recipe", "target", "threads"]
FIGURES = [column for column in NUMERIC_COLUMNS if column not in RUN_SETTINGS]
# The run folder's files a parent run holds, as patterns under the run folder.
RUN_FILES = ("runs.csv", "summary.csv", "summary.md", "report.html", "meta.json", "*.png", "models/*")
# The tags every tracker gets: which run folder a parent or child belongs to, and which row a child is.
RUN_TAG = "benchsuite.run"
ROW_TAG = "benchsuite.row"


def export_key(run_dir: Path, row: Mapping[str, Any]) -> str:
    """A row's name in a tracker's store, the same in every export of its run folder: the folder's name and the
    row's key (task, variant, seed), hashed to what any tracker takes as an id."""
    return hashlib.sha1(f"{run_dir.name}|{row_key(row)!r}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ExportedRow:
    """One runs.csv row as a tracker's child run."""

    key: str  # export_key: its id or tag in the store
    name: str  # e.g. `apple rnn 1L uni h8 seed 0`
    variant: str  # the same without the seed: the group whose seeds W&B draws as one band
    params: dict[str, Any]  # the settings it was trained with, blanks left out
    tags: dict[str, str]  # task, cell, variant, seed, status
    metrics: dict[str, float]  # its final figures, and the numeric extras as `extras/NAME`
    curves: dict[str, list[tuple[int, float]]]  # per metric, (epoch, value) in epoch order


def exported_row(run_dir: Path, row: Mapping[str, Any], curve: Sequence[Mapping[str, Any]]) -> ExportedRow:
    """`row` (typed, as a sink or load_run gives it) and its curve points in a tracker's terms."""
    variant = f"{row['task']} {variant_name(row)}"
    metrics = {column: float(row[column]) for column in FIGURES if not is_blank(row.get(column))}
    extras = row.get(EXTRAS_COLUMN)
    if isinstance(extras, Mapping):
        metrics.update({f"extras/{name}": float(value) for name, value in extras.items()
                        if isinstance(value, (int, float)) and not isinstance(value, bool)})
    curves: dict[str, list[tuple[int, float]]] = {}
    for point in sorted(curve, key=lambda point: point["epoch"]):
        curves.setdefault(str(point["metric"]), []).append((int(point["epoch"]), float(point["value"])))
    key = export_key(run_dir, row)
    return ExportedRow(
        key, f"{variant} seed {row['seed']}", variant,
        params={column: row[column] for column in RUN_SETTINGS if not is_blank(row.get(column))},
        tags={"task": str(row["task"]), "cell": str(row["cell"]), "variant": variant, "seed": str(row["seed"]),
              "status": str(row["status"]), RUN_TAG: run_dir.name, ROW_TAG: key},
        metrics=metrics, curves=curves)


def run_files(run_dir: Path) -> list[Path]:
    """The run folder's files a parent run holds, those that exist."""
    return sorted({path for pattern in RUN_FILES for path in run_dir.glob(pattern) if path.is_file()})


class Exporter(Sink):
    """A sink that writes runs to an experiment tracker. A subclass writes the tracker's side: `open_parent`,
    `exported`, `discard`, `write_row`, `write_files` and `close_parent`; the events are handled here.

    A new row always reaches the store (replacing what the store held under its key: a row a resume ran again); a
    row a resume kept, or that `bench export` replays, only when the store lacks it, with its curve read from the run
    folder.
    """

    run_tag, row_tag = RUN_TAG, ROW_TAG  # tags naming the run folder (parent and children) and a child's row

    def __init__(self, destination: str) -> None:
        self.destination = destination  # a subclass may put it in canonical form (meta.json records it)
        self.parent = ""  # the parent run's id in the store, once a run has started

    def open_parent(self, run_dir: Path, meta: Mapping[str, Any]) -> str:
        """Open the run folder's parent run, or find the one an earlier export made; returns its id in the store."""
        raise NotImplementedError

    def exported(self) -> set[str]:
        """The keys of the rows whose child run is complete in the store under the parent."""
        raise NotImplementedError

    def discard(self, key: str) -> None:
        """Remove whatever the store holds of the row `key` (an unfinished child, or one a resume ran again)."""
        raise NotImplementedError

    def write_row(self, row: ExportedRow) -> None:
        """Write one row as a complete child run of the parent."""
        raise NotImplementedError

    def write_files(self, files: Sequence[Path], run_dir: Path) -> None:
        """Attach the run folder's `files` to the parent, replacing those attached before."""
        raise NotImplementedError

    def close_parent(self) -> None:
        """The run is over: mark the parent finished and let go of the store."""

    def run_started(self, run_dir: Path, meta: Mapping[str, Any]) -> None:
        self.run_dir = run_dir
        self.parent = self.open_parent(run_dir, meta)
        self.done = self.exported()
        self._kept_curves: dict[tuple[Any, ...], list[dict[str, Any]]] | None = None

    def row_recorded(self, outcome: Any, kept: bool) -> None:
        key = export_key(self.run_dir, outcome.row)
        if kept and key in self.done:
            return
        curve = self._stored_curve(outcome.row) if kept else outcome.curve
        self.discard(key)
        self.write_row(exported_row(self.run_dir, outcome.row, curve))
        self.done.add(key)

    def run_finished(self, result: Any) -> None:
        self.write_files(run_files(self.run_dir), self.run_dir)
        self.close_parent()

    def _stored_curve(self, row: Mapping[str, Any]) -> list[dict[str, Any]]:
        """A kept row's curve points, from the run folder's curves.csv (read once)."""
        from ..results.load import load_curves

        if self._kept_curves is None:
            table = load_curves(self.run_dir / "curves.csv")
            self._kept_curves = {}
            for point in [] if table is None else table.to_dict("records"):
                self._kept_curves.setdefault(row_key(point), []).append(point)
        return self._kept_curves.get(row_key(row), [])


@dataclass(frozen=True)
class OpenedExporter:
    """An exporter opened for a run: its name, where it writes, and the plugin that registered it."""

    name: str
    sink: Exporter
    plugin: str


def open_exporters(requests: Sequence[str], registry: Registry, folder: Path) -> list[OpenedExporter]:
    """Open each exporter asked for (`NAME` or `NAME=WHERE`); without a destination one writes to its default in
    `folder`, the folder holding the run folder. An unknown name, a missing extra or a destination that cannot be
    written is bad input, before anything runs."""
    opened = []
    for request in requests:
        name, _, where = request.partition("=")
        spec = registry.exporter(name.strip())
        destination = where.strip() or str(folder / spec.default_destination)
        sink = spec.open(destination)
        if not isinstance(sink, Exporter):
            raise BenchInputError(f"exporter {spec.name!r} opened a {type(sink).__name__}, not a benchsuite.Exporter")
        opened.append(OpenedExporter(spec.name, sink, registry.exporters[spec.name].plugin))
    return opened


def record_exports(run_dir: Path, exporters: Sequence[OpenedExporter]) -> None:
    """Add each exporter to meta.json's `exports`: which tracker, where, and the parent run's id there (one entry
    per tracker and destination, its time the latest export's)."""
    from ..results.files import write_json
    from ..results.load import load_meta

    if not exporters:
        return
    meta = load_meta(run_dir / "meta.json") or {}
    entries = meta.setdefault("exports", [])
    for exporter in exporters:
        entry = {"exporter": exporter.name, "destination": exporter.sink.destination,
                 "parent": exporter.sink.parent, "exported_at": datetime.now(UTC).isoformat(timespec="seconds")}
        entries[:] = [old for old in entries
                      if (old.get("exporter"), old.get("destination")) != (entry["exporter"], entry["destination"])]
        entries.append(entry)
    write_json(run_dir / "meta.json", meta)


def export_run(run_dir: str | Path, requests: Sequence[str], registry: Registry
               ) -> tuple[RunResult, list[OpenedExporter]]:
    """Export a finished (or interrupted) run folder to each exporter asked for (`NAME` or `NAME=WHERE`): every row
    the store lacks, then the run's files. Holds the run folder's lock, so a run still being written is refused, and
    records the exports in meta.json."""
    from ..execution.job import JobOutcome
    from ..results.load import load_run
    from ..results.lock import RunLock

    run_dir = Path(run_dir)
    result = load_run(run_dir)
    exporters = open_exporters(requests, registry, run_dir.resolve().parent)
    with RunLock(run_dir):
        for exporter in exporters:
            exporter.sink.run_started(run_dir, result.meta)
            for row in result.runs.to_dict("records"):
                exporter.sink.row_recorded(JobOutcome(None, row), kept=True)
            exporter.sink.run_finished(result)
        record_exports(run_dir, exporters)
    return result, exporters
