"""summary.csv: one row per task x cell x variant, each metric's mean and standard deviation over its seeds.

Only rows that finished `ok` enter the figures (`n_seeds` counts them; `statuses` tells what the others did).
Standard deviations are the sample's (ddof=1), so blank for a single seed. Time-to-target figures average the
seeds that reached the target; `n_reached_target` says how many did.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .files import write_text_atomic
from .load import load_runs, with_settings
from .schema import GROUP_COLUMNS, SCHEMA_VERSION

if TYPE_CHECKING:
    import pandas

SUMMARY_METRICS = ["accuracy", "final_loss", "valid_accuracy", "valid_loss", "bpc", "test_accuracy", "test_loss",
                   "test_bpc", "epochs_to_target", "seconds_to_target", "train_seconds", "step_ms_median",
                   "step_ms_iqr", "infer_ms_median", "chars_per_second", "peak_memory_mb", "param_bytes",
                   "optimizer_bytes", "activation_bytes"]
SUMMARY_COLUMNS = ["schema_version", *GROUP_COLUMNS, "n_seeds", "statuses", "params", "target", "n_reached_target",
                   *(f"{metric}_{stat}" for metric in SUMMARY_METRICS for stat in ("mean", "std")), "state_size"]


def _column(frame: pandas.DataFrame, name: str) -> pandas.Series:
    """A column as numbers (blank where absent: older runs.csv files may lack newer columns)."""
    import pandas

    if name not in frame:
        return pandas.Series(index=frame.index, dtype=float)
    return pandas.to_numeric(frame[name], errors="coerce")


def _first(values: pandas.Series) -> object:
    present = values.dropna()
    return present.iloc[0] if len(present) else None


def _statuses(values: pandas.Series) -> str:
    """'ok:2 diverged:1': how the seeds of one variant ended, in the order the table first lists each."""
    return " ".join(f"{status}:{count}" for status, count in values.value_counts(sort=False).items())


def summarize(runs: pandas.DataFrame) -> pandas.DataFrame:
    """The summary table of a runs table (as read from runs.csv, in key order), variants in its order."""
    import pandas

    rows = []
    runs = with_settings(runs.copy())  # a table from before a setting existed reads as its neutral value
    for key, group in runs.groupby(GROUP_COLUMNS, sort=False, dropna=False):
        finished = group[group["status"] == "ok"]
        row = {"schema_version": SCHEMA_VERSION, **dict(zip(GROUP_COLUMNS, key)), "n_seeds": len(finished),
               "statuses": _statuses(group["status"]), "params": _first(_column(group, "params")),
               "target": _first(_column(group, "target")),
               "n_reached_target": int(_column(finished, "epochs_to_target").notna().sum())}
        for metric in SUMMARY_METRICS:
            values = _column(finished, metric)
            row[f"{metric}_mean"] = values.mean()
            row[f"{metric}_std"] = values.std()
        row["state_size"] = _first(_column(group, "state_size"))
        rows.append(row)
    return pandas.DataFrame(rows, columns=SUMMARY_COLUMNS)


def write_summary(run_dir: str | os.PathLike) -> Path:
    """(Re)write `run_dir/summary.csv` from its runs.csv, atomically; returns its path."""
    path = Path(run_dir) / "summary.csv"
    write_text_atomic(path, summarize(load_runs(Path(run_dir) / "runs.csv")).to_csv(index=False))
    return path
