"""The results folder: run ids, the row schema, and durable row-by-row appends."""
from __future__ import annotations

import csv
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

SCHEMA_VERSION = 1
KEY_COLUMNS = ["task", "cell", "backend", "num_layers", "bidirectional", "hidden_size", "seed"]
RUN_COLUMNS = ["schema_version", *KEY_COLUMNS, "device", "status", "error", "params", "epochs", "lr",
               "final_loss", "accuracy", "ceiling", "valid_loss", "valid_accuracy", "bpc",
               "epochs_to_target", "seconds_to_target", "train_seconds", "step_ms_median", "step_ms_iqr",
               "batch_size"]
CURVE_COLUMNS = ["schema_version", *KEY_COLUMNS, "epoch", "metric", "value"]


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


def write_json(path: Path, content: Mapping[str, Any]) -> None:
    """Write JSON through a temporary file and a rename, so readers never see half a file."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(content, indent=2, default=str) + "\n")
    os.replace(temporary, path)


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
