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
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ..errors import BenchInputError, describe_os_error
from .schema import (
    CURVE_COLUMNS,
    EXTRAS_COLUMN,
    KEY_COLUMNS,
    RUN_COLUMNS,
    SAMPLE_COLUMNS,
    SCHEMA_VERSION,
    SLICE_COLUMNS,
)


def create_run_dir(out: str | os.PathLike) -> Path:
    """A new, uniquely named folder under `out` for one run; a place where none can be made is bad input."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = Path(out)
    for attempt in range(1000):
        run_dir = out / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            run_dir.mkdir(parents=True)
            return run_dir
        except FileExistsError:
            if not out.is_dir():
                raise BenchInputError(f"--out {out}: cannot make a run folder there: it is not a folder") from None
        except OSError as exc:
            raise BenchInputError(f"--out {out}: cannot make a run folder there: {describe_os_error(exc)}") from None
    raise BenchInputError(f"--out {out}: could not find a free run folder name after 1000 tries")


# Run files are opened without following symbolic links: a link planted in a run folder must not redirect
# benchsuite's writes (or a traceback) to a file elsewhere.
NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)


def refuse_links(run_dir: Path, names: Iterable[str]) -> None:
    """Bad input if any of the run folder's files `names` is a symbolic link (checked before writing anything)."""
    for name in names:
        if (run_dir / name).is_symlink():
            raise BenchInputError(f"{run_dir / name} is a symbolic link; a run folder's files must be its own, so "
                                  "nothing is written through it (replace it with the file itself)")


def open_append(path: Path) -> int:
    """A descriptor appending to `path` (created if missing); a symbolic link there is refused (OSError)."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | NO_FOLLOW, 0o644)


def write_all(descriptor: int, data: bytes, path: Path) -> None:
    """Write every byte to `path`'s open `descriptor` (a full disk ends a write short, then raises an OSError
    naming `path`) and make it durable."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(descriptor, view):]
        os.fsync(descriptor)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None


def append_text(path: Path, text: str) -> None:
    """Append `text` to `path` durably, never through a symbolic link."""
    descriptor = open_append(path)
    try:
        write_all(descriptor, text.encode("utf-8"), path)
    finally:
        os.close(descriptor)


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
    temporary.unlink(missing_ok=True)  # a link left there would redirect the write; the rename never follows one
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
    """A CSV file that gets its header once and then rows, each written whole and fsynced before returning.

    Nothing is buffered between appends, so a failed write (a full disk) leaves at most one cut-off last line,
    which readers do not count, and closing has nothing left to write.
    """

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path, self.columns = path, columns
        self.descriptor = open_append(path)
        if os.fstat(self.descriptor).st_size == 0:
            self._write(None)

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        rows = [{"schema_version": SCHEMA_VERSION, **row} for row in rows]
        if rows:
            self._write(rows)

    def _write(self, rows: list[Mapping[str, Any]] | None) -> None:
        """The rows, or the header when `rows` is None, in one durable write."""
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=self.columns, extrasaction="raise", lineterminator="\r\n")
        if rows is None:
            writer.writeheader()
        else:
            writer.writerows(rows)
        write_all(self.descriptor, text.getvalue().encode("utf-8"), self.path)

    def close(self) -> None:
        os.close(self.descriptor)


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
        extras = row.get(EXTRAS_COLUMN)
        row = {**row, EXTRAS_COLUMN: json.dumps(dict(extras), sort_keys=True, default=str) if extras else ""}
        self.curves.append({**key, **point} for point in curve)
        self.samples.append({**key, **sample} for sample in samples)
        self.slices.append({**key, **point} for point in slices)
        self.runs.append([row])

    def close(self) -> None:
        for appender in (self.runs, self.curves, self.samples, self.slices):
            appender.close()

    def __enter__(self) -> RunWriter:
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


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def complete_csv_text(path: str | os.PathLike) -> tuple[str, list[list[str]]]:
    """The text of a CSV file's complete records, and those records (the header first): every reader's one rule.

    A record the file ends in the middle of (its writer was killed while appending it) is not a record: one
    without its newline, one cut inside a quoted field, or a last one with fewer fields than the header. It is
    left out with a warning, so a killed run reads as exactly its finished rows (and --resume runs that row
    again). A missing or unreadable file, text that is not UTF-8, or damage anywhere else is bad input naming
    the file.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BenchInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    lined = data[: data.rfind(b"\n") + 1]  # bytes after the last newline can only be a torn record
    try:
        text = lined.decode("utf-8")
    except UnicodeDecodeError:
        raise BenchInputError(f"cannot read {path}: it is not UTF-8 text") from None
    lines = io.StringIO(text, newline="").readlines()
    whole = len(lines)
    reader = csv.reader(iter(lines), strict=True)
    records: list[list[str]] = []
    ends: list[int] = []  # the line count at the end of each record
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # A newline inside a quoted field ended the kept lines there: the same torn last record.
            if not (str(exc).startswith(_OPEN_QUOTE_AT_END) and reader.line_num == whole):
                raise BenchInputError(f"{path}, line {reader.line_num}: malformed CSV ({exc})") from None
            break
        if record:
            records.append(record)
            ends.append(reader.line_num)
    if len(records) > 1 and len(records[-1]) < len(records[0]):  # cut just after a newline inside the last row
        records.pop()
        ends.pop()
    for number, record in enumerate(records[1:], start=2):
        if len(record) != len(records[0]):
            raise BenchInputError(f"{path}: record {number} has {len(record)} fields but the header has "
                                  f"{len(records[0])}")
    kept = "".join(lines[:ends[-1]]) if ends else ""
    if len(kept) != len(text) or len(lined) != len(data):
        _warn(f"{path}: its last line is cut off (its writer was stopped while writing it); that line is not "
              "counted as a row")
    return kept, records


def read_csv_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a CSV file, as text by column name, read by the rule of `complete_csv_text`."""
    records = complete_csv_text(path)[1]
    if not records:
        return []
    header = records[0]
    return [dict(zip(header, record)) for record in records[1:]]
