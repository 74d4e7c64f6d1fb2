"""Finishing an interrupted run in its own folder (`--resume RUN_DIR`): its meta.json, kept rows and details.

Which options a resumed run uses is decided in planning/resume.py; this module keeps the folder consistent.
"""
from __future__ import annotations

import shutil
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Collection, Iterator, Mapping

from ..errors import BenchInputError
from .files import read_csv_rows, write_json, write_rows
from .load import load_meta
from .schema import (
    CURVE_COLUMNS,
    RUN_COLUMNS,
    RUN_REQUIRED,
    SAMPLE_COLUMNS,
    SLICE_COLUMNS,
    RowKey,
    check_schema_version,
    check_table,
    row_key,
)

SCRATCH = ".scratch"  # executors' temporary files (an isolated child's request and result), inside the run
# Every file a run writes in its folder; a resume refuses a folder where one of them is a symbolic link.
RUN_FILES = ("runs.csv", "curves.csv", "samples.csv", "errors.log", "meta.json", "summary.csv", "summary.md",
             "report.html", ".lock", SCRATCH)
# The files holding a row's details, each keyed like runs.csv: they keep exactly the kept rows' details.
DETAIL_FILES = {"curves.csv": CURVE_COLUMNS, "samples.csv": SAMPLE_COLUMNS, "slices.csv": SLICE_COLUMNS}


def read_meta(run_dir: Path) -> dict[str, Any]:
    """A run folder's meta.json, checked to exist and to be of this benchsuite's schema version."""
    if not run_dir.is_dir():
        raise BenchInputError(f"--resume {run_dir}: no such run folder")
    meta = load_meta(run_dir / "meta.json")
    if meta is None:
        raise BenchInputError(f"--resume {run_dir}: it has no meta.json, so it is not a run folder to resume")
    check_schema_version([meta.get("schema_version")], run_dir / "meta.json")
    if not isinstance(meta.get("options"), dict):
        raise BenchInputError(f"--resume {run_dir}: its meta.json records no options, so the run cannot be resumed")
    return meta


def _checked_keys(rows: list[dict[str, str]], path: Path) -> list[RowKey]:
    try:
        return [row_key(row) for row in rows]
    except (KeyError, ValueError) as exc:
        raise BenchInputError(f"{path}: a row lacks a valid key column ({exc})") from None


def _finished_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a run's runs.csv (none if it has none yet), checked to be a table this version can extend."""
    if not path.exists():
        return []
    rows = read_csv_rows(path)
    if rows:  # the readers' gate, and no column this version would drop when it rewrites the file
        check_table(rows[0], [row["schema_version"] for row in rows], path, "runs.csv", RUN_REQUIRED, known=RUN_COLUMNS)
    return rows


def prepare_resume(run_dir: Path, device: str, planned: Collection[RowKey]) -> set[RowKey]:
    """Drop the rows `planned` to run again (those not `ok`, and repeats) with their details; return the keys kept.

    Rows outside the plan stay whatever their status (a resume narrowed with --cells never loses the others'
    error rows). Files are rewritten atomically, runs.csv first: a kill in between leaves details of rows that
    are no longer there, which the next resume drops in turn.
    """
    meta = read_meta(run_dir)
    if meta.get("device") != device:
        raise BenchInputError(f"--resume {run_dir}: the run was measured on {meta.get('device')}, this one "
                              f"would run on {device}; pass --device {meta.get('device')} or start a new run")
    runs_path = run_dir / "runs.csv"
    rows = _finished_rows(runs_path)
    kept: dict[RowKey, dict[str, str]] = {}
    for key, row in zip(_checked_keys(rows, runs_path), rows):
        if row["status"] == "ok" or key not in planned:
            kept.setdefault(key, row)
    details = {name: read_csv_rows(run_dir / name) for name in DETAIL_FILES if (run_dir / name).exists()}
    write_rows(runs_path, RUN_COLUMNS, kept.values())
    for name, points in details.items():
        path = run_dir / name
        write_rows(path, DETAIL_FILES[name],
                   [point for key, point in zip(_checked_keys(points, path), points) if key in kept])
    return set(kept)


@contextmanager
def scratch_folder(run_dir: Path) -> Iterator[Path]:
    """`run_dir/.scratch`, emptied of what a killed run left there, for executors' temporary files; removed after."""
    scratch = run_dir / SCRATCH
    shutil.rmtree(scratch, ignore_errors=True)  # the lock is held: nothing running uses it
    scratch.mkdir()
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def record_resume(run_dir: Path, argv: list[str], options: Mapping[str, Any], kept: int, planned: int,
                  code: Mapping[str, Any]) -> None:
    """Add this resume to meta.json's `resumes` list (when, how, what was kept and what is to run) and the code it
    runs with to its `code` list."""
    meta = read_meta(run_dir)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    meta.setdefault("resumes", []).append({
        "resumed_at": now, "argv": argv, "kept_rows": kept, "planned_rows": planned, "options": dict(options),
    })
    meta.setdefault("code", []).append({**code, "since": now})
    write_json(run_dir / "meta.json", meta)
