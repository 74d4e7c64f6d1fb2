"""The results folder on disk: run ids, durable row-by-row appends, atomic rewrites, and raw CSV rows.

runs.csv holds one row per run; curves.csv its per-epoch figures (long format); samples.csv its raw
timings, one value per training step and per timed inference pass (`warmup` marks those left out of
the medians), so comparisons can test the samples themselves.
"""
from __future__ import annotations

import csv
import io
import json
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ..errors import BenchInputError
from .schema import CURVE_COLUMNS, KEY_COLUMNS, RUN_COLUMNS, SAMPLE_COLUMNS, SCHEMA_VERSION, SLICE_COLUMNS



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
def replaced_atomically(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; once the block has written it, it replaces `path` in one rename.

    Readers see the old file or the new one, never half of one; a failed write leaves the old file. The new
    file is on disk before the rename and the rename before returning, so a crash right after keeps it.
    """
    # Named by process id and created by the writer, so it gets the usual permissions (mkstemp's are 0600).
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield temporary
        _fsync_path(temporary)
        os.replace(temporary, path)
        if os.name == "posix":  # a folder's entries are made durable through the folder itself
            _fsync_path(path.parent)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and a rename, so readers never see half a file."""
    with replaced_atomically(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(path: Path, content: Mapping[str, Any]) -> None:
    write_text_atomic(path, json.dumps(content, indent=2, default=str) + "\n")


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
    """Appends each finished run to `runs.csv`, its per-epoch figures to `curves.csv`, its timings to `samples.csv`
    and its accuracy per slice to `slices.csv`."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.runs = CsvAppender(run_dir / "runs.csv", RUN_COLUMNS)
        self.curves = CsvAppender(run_dir / "curves.csv", CURVE_COLUMNS)
        self.samples = CsvAppender(run_dir / "samples.csv", SAMPLE_COLUMNS)
        self.slices = CsvAppender(run_dir / "slices.csv", SLICE_COLUMNS)

    def append(self, row: Mapping[str, Any], curve: Iterable[Mapping[str, Any]],
               samples: Iterable[Mapping[str, Any]] = (), slices: Iterable[Mapping[str, Any]] = ()) -> None:
        # Details first: a row in runs.csv promises that its details are already on disk.
        key = {column: row[column] for column in KEY_COLUMNS}
        self.curves.append({**key, **point} for point in curve)
        self.samples.append({**key, **sample} for sample in samples)
        self.slices.append({**key, **point} for point in slices)
        self.runs.append([row])

    def close(self) -> None:
        for appender in (self.runs, self.curves, self.samples, self.slices):
            appender.close()

    def __enter__(self) -> "RunWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_rows(path: Path, columns: list[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Replace a whole CSV file atomically with `rows` under `columns` (missing values left blank)."""
    with replaced_atomically(path) as temporary, open(temporary, "w", newline="", encoding="utf-8") as file:
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
