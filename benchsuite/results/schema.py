"""Every column and key of a run folder's tables, defined once.

A *variant* is what tells models apart within one task; a *row key* names one training run (task, variant,
seed); a *group* is a variant of a task on a device, over its seeds (what summary.csv and compare pool).
Readers and writers, resume, summary, compare and reports all take their columns and keys from here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import BenchInputError

SCHEMA_VERSION = 1
VARIANT_COLUMNS = ["cell", "backend", "num_layers", "bidirectional", "hidden_size"]
KEY_COLUMNS = ["task", *VARIANT_COLUMNS, "seed"]
GROUP_COLUMNS = ["task", *VARIANT_COLUMNS, "device"]
RUN_COLUMNS = ["schema_version", *KEY_COLUMNS, "device", "status", "error", "params", "epochs", "lr",
               "final_loss", "accuracy", "ceiling", "valid_loss", "valid_accuracy", "bpc",
               "epochs_to_target", "seconds_to_target", "train_seconds", "step_ms_median", "step_ms_iqr",
               "target", "threads", "step_ms_noisy", "infer_ms_median", "infer_ms_iqr", "chars_per_second",
               "peak_memory_mb", "batch_size", "prediction", "param_bytes", "optimizer_bytes", "activation_bytes"]
# What a file must hold to be read as a runs.csv at all.
RUN_REQUIRED = ["schema_version", *KEY_COLUMNS, "device", "status"]
CURVE_COLUMNS = ["schema_version", *KEY_COLUMNS, "epoch", "metric", "value"]
SAMPLE_COLUMNS = ["schema_version", *KEY_COLUMNS, "metric", "sample", "epoch", "warmup", "value"]
# Columns read as text and as True/False; every other run column outside the key is a measured or set number.
TEXT_COLUMNS = ["task", "cell", "backend", "device", "status", "error", "prediction"]
BOOLEAN_COLUMNS = ["bidirectional", "step_ms_noisy"]
NUMERIC_COLUMNS = [column for column in RUN_COLUMNS
                   if column not in ("schema_version", *KEY_COLUMNS, *TEXT_COLUMNS, *BOOLEAN_COLUMNS)]
STATUSES = ("ok", "error", "diverged", "timeout", "skipped")
FAILED_STATUSES = ("error", "diverged", "timeout")  # a run with any of these exits 1

RowKey = tuple[str, str, str, int, bool, int, int]  # KEY_COLUMNS' values, typed


def row_key(row: Mapping[str, Any]) -> RowKey:
    """The key of a row, from typed values (a fresh row) or text (a row read back from a CSV file)."""
    return (str(row["task"]), str(row["cell"]), str(row["backend"]), int(row["num_layers"]),
            row["bidirectional"] in (True, "True"), int(row["hidden_size"]), int(row["seed"]))


def check_schema_version(found: Iterable[Any], source: Path) -> None:
    """Every value must be this benchsuite's SCHEMA_VERSION; otherwise say which versions were found."""
    versions = sorted({str(value) for value in found})
    if versions and versions != [str(SCHEMA_VERSION)]:
        raise BenchInputError(f"{source}: written with schema_version {', '.join(versions)}; "
                              f"this benchsuite reads schema_version {SCHEMA_VERSION}")
