"""Finishing an interrupted run in its own folder (`--resume RUN_DIR`).

Policy: a resumed run reuses the options recorded in the run's meta.json. Options given again override them
when they only select rows or steer execution (tasks, cells, layers, directions, hidden, seeds, timeout,
isolate, fail-fast, plugins-dir); rows new to the grid are run, rows already `ok` are kept. Options that
change what a row measures without showing in its key (epochs, lr, task options, batch size, target, threads,
the device) must stay as they were, or the table would mix incomparable rows: changing them is bad input. `--out` does not apply.
"""
from __future__ import annotations

import dataclasses
import inspect
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from ..errors import BenchInputError
from ..planning.grid import Job, RunOptions
from .load import RUN_REQUIRED, check_schema_version, load_meta
from .files import (CURVE_COLUMNS, RUN_COLUMNS, SAMPLE_COLUMNS, SCHEMA_VERSION, read_csv_rows, write_json,
                      write_rows)

# Options whose change would make old and new rows incomparable although their keys match.
FIXED_ON_RESUME = {"epochs": "--epochs", "lr": "--lr", "task_opts": "--task-opt", "batch_size": "--batch-size",
                   "target": "--target", "threads": "--threads"}

Key = tuple[str, str, int, bool, int, int]
# The files holding a row's details, each keyed like runs.csv: they keep exactly the kept rows' details.
DETAIL_FILES = {"curves.csv": CURVE_COLUMNS, "samples.csv": SAMPLE_COLUMNS}


def job_key(job: Job) -> Key:
    """What identifies a row: task, cell, variant (layers, direction), hidden size, seed."""
    return job.task, job.cell.name, job.num_layers, job.bidirectional, job.hidden_size, job.seed


def row_key(row: Mapping[str, str]) -> Key:
    """`job_key` of a row read back from runs.csv or curves.csv (all values are text there)."""
    return (row["task"], row["cell"], int(row["num_layers"]), row["bidirectional"] == "True",
            int(row["hidden_size"]), int(row["seed"]))


def options_record(options: RunOptions) -> dict[str, Any]:
    """The options as JSON-ready values that `RunOptions.parse` reads back to the same options."""
    record = dataclasses.asdict(options)
    if options.directions is not None:
        record["directions"] = ["bi" if bidirectional else "uni" for bidirectional in options.directions]
    return record


def options_from_record(record: Mapping[str, Any]) -> RunOptions:
    """`RunOptions` from what `options_record` wrote (fields this version does not know are ignored)."""
    accepted = inspect.signature(RunOptions.parse).parameters
    return RunOptions.parse(**{name: value for name, value in record.items() if name in accepted})


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


def resume_options(run_dir: str | Path, given: Mapping[str, Any]) -> RunOptions:
    """The interrupted run's own options with the `given` ones (as typed, unparsed) on top; see the policy above."""
    run_dir = Path(run_dir)
    if "out" in given:
        raise BenchInputError(f"--out does not apply with --resume: the run is finished in {run_dir} itself")
    stored = read_meta(run_dir)["options"]
    original, merged = options_from_record(stored), options_from_record({**stored, **given})
    for name, flag in FIXED_ON_RESUME.items():
        if getattr(merged, name) != getattr(original, name):
            raise BenchInputError(f"--resume {run_dir}: {flag} {_shown(getattr(merged, name))} differs from the run's "
                                  f"own {_shown(getattr(original, name))}; rows measured that way would not compare "
                                  "with the rows already there, so start a new run instead")
    return merged


def _shown(value: Any) -> str:
    return "unset (the task's default)" if value in (None, {}) else str(value)


def _checked_keys(rows: list[dict[str, str]], path: Path) -> list[Key]:
    try:
        return [row_key(row) for row in rows]
    except (KeyError, ValueError) as exc:
        raise BenchInputError(f"{path}: a row lacks a valid key column ({exc})") from None


def _finished_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a run's runs.csv (none if it has none yet), checked to be a table this version can extend."""
    if not path.exists():
        return []
    rows = read_csv_rows(path)
    if rows:
        missing = [column for column in RUN_REQUIRED if column not in rows[0]]
        unknown = sorted(set(rows[0]) - set(RUN_COLUMNS))
        if missing:
            raise BenchInputError(f"{path}: not a benchsuite runs.csv: missing column(s) {', '.join(missing)}")
        check_schema_version((row["schema_version"] for row in rows), path)
        if unknown:
            raise BenchInputError(f"{path}: columns this benchsuite does not know ({', '.join(unknown)}) under "
                                  f"schema_version {SCHEMA_VERSION}")
    return rows


def prepare_resume(run_dir: Path, device: str) -> set[Key]:
    """Keep the run's `ok` rows (one per key) and their details, drop the rest, and return the kept keys.

    Files are rewritten atomically, runs.csv first: a kill in between leaves details of rows that are no
    longer there, which the next resume drops in turn.
    """
    meta = read_meta(run_dir)
    if meta.get("device") != device:
        raise BenchInputError(f"--resume {run_dir}: the run was measured on {meta.get('device')}, this one "
                              f"would run on {device}; pass --device {meta.get('device')} or start a new run")
    runs_path = run_dir / "runs.csv"
    rows = _finished_rows(runs_path)
    kept: dict[Key, dict[str, str]] = {}
    for key, row in zip(_checked_keys(rows, runs_path), rows):
        if row["status"] == "ok":
            kept.setdefault(key, row)
    details = {name: read_csv_rows(run_dir / name) for name in DETAIL_FILES if (run_dir / name).exists()}
    write_rows(runs_path, RUN_COLUMNS, kept.values())
    for name, points in details.items():
        path = run_dir / name
        write_rows(path, DETAIL_FILES[name],
                   [point for key, point in zip(_checked_keys(points, path), points) if key in kept])
    return set(kept)


def record_resume(run_dir: Path, argv: list[str], options: RunOptions, kept: int, planned: int) -> None:
    """Add this resume to meta.json's `resumes` list: when, how, what was kept and what is to run."""
    meta = read_meta(run_dir)
    meta.setdefault("resumes", []).append({
        "resumed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "argv": argv, "kept_rows": kept, "planned_rows": planned, "options": options_record(options),
    })
    write_json(run_dir / "meta.json", meta)
