"""The results folder: run ids, the row schema, durable row-by-row appends, atomic rewrites and checked reads."""
from __future__ import annotations

import csv
import io
import json
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .errors import BenchInputError

SCHEMA_VERSION = 1
KEY_COLUMNS = ["task", "cell", "backend", "num_layers", "bidirectional", "hidden_size", "seed"]
RUN_COLUMNS = ["schema_version", *KEY_COLUMNS, "device", "status", "error", "params", "epochs", "lr",
               "final_loss", "accuracy", "ceiling", "valid_loss", "valid_accuracy", "bpc",
               "epochs_to_target", "seconds_to_target", "train_seconds", "step_ms_median", "step_ms_iqr"]
CURVE_COLUMNS = ["schema_version", *KEY_COLUMNS, "epoch", "metric", "value"]
FAILED_STATUSES = ("error", "diverged", "timeout")  # a run with any of these exits 1


def create_run_dir(out: str | os.PathLike) -> Path:
    """A new, uniquely named folder under `out` for one run."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = Path(out)
    for attempt in range(1000):
        run_dir = out / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            run_dir.mkdir(parents=True)
            return run_dir
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new run folder under {out}")


def _fsync_path(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside `path` to write the new file to; it replaces `path` only if the block succeeds.

    Readers (and a kill at any moment) see the old file or the new one, never half of one. The temporary
    name keeps the suffix, so writers that infer a format from it (e.g. matplotlib's savefig) still work.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield temporary
        _fsync_path(temporary)
        os.replace(temporary, path)
        if os.name == "posix":  # make the rename itself durable
            _fsync_path(path.parent)
    finally:
        temporary.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Replace a whole text file atomically (see `atomic_path`)."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(path: Path, content: Mapping[str, Any]) -> None:
    """Write JSON atomically, so readers never see half a file."""
    write_text(path, json.dumps(content, indent=2, default=str) + "\n")


class CsvAppender:
    """A CSV file that gets its header once and then rows, each flushed and fsynced before returning."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.columns = columns
        new = not path.exists() or path.stat().st_size == 0
        self.file = open(path, "a", newline="", encoding="utf-8")
        self.writer = csv.DictWriter(self.file, fieldnames=columns, extrasaction="raise")
        if new:
            self.writer.writeheader()
            self._sync()

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.writer.writerows({"schema_version": SCHEMA_VERSION, **row} for row in rows)
        self._sync()

    def _sync(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()


class RunWriter:
    """Appends each finished run to `runs.csv` and its per-epoch figures to `curves.csv`."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.runs = CsvAppender(run_dir / "runs.csv", RUN_COLUMNS)
        self.curves = CsvAppender(run_dir / "curves.csv", CURVE_COLUMNS)

    def append(self, row: Mapping[str, Any], curve: Iterable[Mapping[str, Any]]) -> None:
        # Curves first: a row in runs.csv promises that its curve is already on disk.
        key = {column: row[column] for column in KEY_COLUMNS}
        self.curves.append({**key, **point} for point in curve)
        self.runs.append([row])

    def close(self) -> None:
        self.runs.close()
        self.curves.close()

    def __enter__(self) -> "RunWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_rows(path: Path, columns: list[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Replace a whole CSV file atomically with `rows` under `columns` (missing values left blank)."""
    with atomic_path(path) as temporary, open(temporary, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=columns, restval="", extrasaction="raise")
        writer.writeheader()
        writer.writerows(rows)


# What csv's strict reader says when the data stops inside a quoted field.
_OPEN_QUOTE_AT_END = "unexpected end of data"


def read_csv_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a CSV file, as text by column name.

    A record the file ends in the middle of (its writer was killed while appending it) is left out, so a
    killed run reads as exactly its finished rows. A missing or unreadable file, text that is not UTF-8,
    or damage anywhere else is bad input naming the file.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BenchInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    data = data[: data.rfind(b"\n") + 1]  # bytes after the last newline can only be a torn record
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BenchInputError(f"cannot read {path}: it is not UTF-8 text") from None
    lines = iter(io.StringIO(text, newline=""))
    reader = csv.reader(lines, strict=True)
    records = []
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # A newline inside a quoted field ended the kept bytes there: the same torn last record.
            if str(exc).startswith(_OPEN_QUOTE_AT_END) and next(lines, None) is None:
                break
            raise BenchInputError(f"{path}, line {reader.line_num}: malformed CSV ({exc})") from None
        if record:
            records.append(record)
    if not records:
        return []
    header, body = records[0], records[1:]
    for number, record in enumerate(body, start=2):
        if len(record) != len(header):
            raise BenchInputError(f"{path}: record {number} has {len(record)} fields but the header has {len(header)}")
    return [dict(zip(header, record)) for record in body]


def check_schema_version(versions: Iterable[Any], source: str | os.PathLike) -> None:
    """Bad input unless every version given is the one this benchsuite writes."""
    found = sorted({str(version) for version in versions} - {str(SCHEMA_VERSION)})
    if found:
        raise BenchInputError(f"{source} has schema_version {', '.join(found)}; this benchsuite reads "
                              f"schema_version {SCHEMA_VERSION} only")


def read_runs(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a `runs.csv`, checked to be of this benchsuite's schema version."""
    rows = read_csv_rows(path)
    if rows and "schema_version" not in rows[0]:
        raise BenchInputError(f"{path} is not a benchsuite runs table: it has no schema_version column")
    check_schema_version((row["schema_version"] for row in rows), path)
    return rows


def read_json(path: str | os.PathLike) -> dict[str, Any]:
    """A JSON object from a file; missing, unreadable or malformed files are bad input naming the file."""
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BenchInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchInputError(f"cannot read {path}: not valid JSON ({exc})") from None
    if not isinstance(content, dict):
        raise BenchInputError(f"cannot read {path}: expected a JSON object, got {type(content).__name__}")
    return content
