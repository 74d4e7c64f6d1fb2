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
    import numpy
    import pandas

SUMMARY_METRICS = ["accuracy", "final_loss", "valid_accuracy", "valid_loss", "bpc", "test_accuracy", "test_loss",
                   "test_bpc", "epochs_to_target", "seconds_to_target", "train_seconds", "step_ms_median",
                   "step_ms_iqr", "infer_ms_median", "chars_per_second", "peak_memory_mb", "param_bytes",
                   "optimizer_bytes", "activation_bytes"]
SUMMARY_COLUMNS = ["schema_version", *GROUP_COLUMNS, "n_seeds", "statuses", "params", "target", "n_reached_target",
                   *(f"{metric}_{stat}" for metric in SUMMARY_METRICS for stat in ("mean", "std")), "state_size"]


def _column(frame: pandas.DataFrame, name: str) -> numpy.ndarray:
    """A column as numbers (blank where absent: older runs.csv files may lack newer columns)."""
    import numpy
    import pandas

    if name not in frame:
        return numpy.full(len(frame), numpy.nan)
    return pandas.to_numeric(frame[name], errors="coerce").to_numpy()


def _first(values: numpy.ndarray) -> object:
    import numpy

    present = values[~numpy.isnan(values)]
    return present[0] if len(present) else None


def _mean_and_std(values: numpy.ndarray) -> tuple[float, float]:
    """The mean and sample standard deviation of the values present, computed as pandas' Series.mean() and .std()
    compute them (blanks as zeros in the sums), so the figures match a Series' to the last bit."""
    import numpy

    present = ~numpy.isnan(values)
    count = int(present.sum())
    if count == 0:
        return numpy.nan, numpy.nan
    filled = numpy.where(present, values, 0.0)
    mean = filled.sum(dtype=numpy.float64) / count
    if count < 2:
        return mean, numpy.nan
    squares = numpy.where(present, (mean - filled) ** 2, 0.0)
    return mean, numpy.sqrt(squares.sum(dtype=numpy.float64) / (count - 1))


def _statuses(values: pandas.Series) -> str:
    """'ok:2 diverged:1': how the seeds of one variant ended, in the order the table first lists each."""
    return " ".join(f"{status}:{count}" for status, count in values.value_counts(sort=False).items())


def summarize(runs: pandas.DataFrame) -> pandas.DataFrame:
    """The summary table of a runs table (as read from runs.csv, in key order), variants in its order."""
    import numpy
    import pandas

    # A table from before a setting existed reads as its neutral value; its index becomes the rows' positions.
    runs = with_settings(runs.copy()).reset_index(drop=True)
    # Each column read as numbers once, each variant's figures from its rows' positions in them.
    numbers = {name: _column(runs, name) for name in (*SUMMARY_METRICS, "params", "target", "state_size")}
    finished = (runs["status"] == "ok").to_numpy()
    rows = []
    for key, group in runs.groupby(GROUP_COLUMNS, sort=False, dropna=False):
        positions = group.index.to_numpy()
        ok = positions[finished[positions]]
        row = {"schema_version": SCHEMA_VERSION, **dict(zip(GROUP_COLUMNS, key)), "n_seeds": len(ok),
               "statuses": _statuses(group["status"]), "params": _first(numbers["params"][positions]),
               "target": _first(numbers["target"][positions]),
               "n_reached_target": int((~numpy.isnan(numbers["epochs_to_target"][ok])).sum())}
        for metric in SUMMARY_METRICS:
            row[f"{metric}_mean"], row[f"{metric}_std"] = _mean_and_std(numbers[metric][ok].astype(float))
        row["state_size"] = _first(numbers["state_size"][positions])
        rows.append(row)
    return pandas.DataFrame(rows, columns=SUMMARY_COLUMNS)


def write_summary(run_dir: str | os.PathLike) -> Path:
    """(Re)write `run_dir/summary.csv` from its runs.csv, atomically; returns its path."""
    path = Path(run_dir) / "summary.csv"
    write_text_atomic(path, summarize(load_runs(Path(run_dir) / "runs.csv")).to_csv(index=False))
    return path
