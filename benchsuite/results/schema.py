"""Every column and key of a run folder's tables, defined once.

A *variant* is what tells models apart within one task; a *row key* names one training run (task, variant,
seed); a *group* is a variant of a task on a device, over its seeds (what summary.csv and compare pool).
Readers and writers, resume, summary, compare and reports all take their columns and keys from here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import BenchInputError
from ..specs import SPLITS

SCHEMA_VERSION = 1
ARCHITECTURE_COLUMNS = ["cell", "backend", "num_layers", "bidirectional", "hidden_size"]
# The training settings a sweep may vary, as runs.csv records them, with the type their text reads back as. Each is
# part of a variant's identity, so rows trained differently are never pooled (summary, compare, resume, reports,
# `bench best`). `max_epochs` is the epochs a run was set to train (`epochs` counts those it did, fewer when it
# stopped early). Sweeping another setting: one line here and its option in planning/options.py.
# `backbone` is the model around the cell (benchsuite/backbones), `preset` the block recipe's published preset
# (blank: the default recipe), `schedule` and `warmup_steps` the lr schedule.
SETTING_COLUMNS: dict[str, type] = {"lr": float, "batch_size": int, "max_epochs": int, "clip": float,
                                     "weight_decay": float, "steps": int, "backbone": str, "preset": str,
                                     "schedule": str, "warmup_steps": int}
# Settings that change nothing at these values (no clipping, no weight decay, the task's own steps, the notebook's
# stack model, ...): variant names and model file names leave them out there, so runs that do not use them read as
# before these settings were swept. A file written before a setting existed has it blank, which reads as this value.
NEUTRAL_SETTINGS: dict[str, Any] = {"clip": None, "weight_decay": 0.0, "steps": None, "backbone": "stack",
                                    "preset": None, "schedule": "constant", "warmup_steps": 0}
VARIANT_COLUMNS = [*ARCHITECTURE_COLUMNS, *SETTING_COLUMNS]
KEY_COLUMNS = ["task", *VARIANT_COLUMNS, "seed"]
GROUP_COLUMNS = ["task", *VARIANT_COLUMNS, "device"]
RUN_COLUMNS = ["schema_version", "task", *ARCHITECTURE_COLUMNS, "seed", "device", "status", "error", "params",
               "epochs", "lr", "final_loss", "accuracy", "ceiling", "valid_loss", "valid_accuracy", "bpc",
               "epochs_to_target", "seconds_to_target", "train_seconds", "step_ms_median", "step_ms_iqr",
               "target", "threads", "step_ms_noisy", "infer_ms_median", "infer_ms_iqr", "chars_per_second",
               "peak_memory_mb", "batch_size", "prediction", "param_bytes", "optimizer_bytes", "activation_bytes",
               "max_epochs", "test_loss", "test_accuracy", "test_bpc", "state_size", "params_target", "chance",
               "clip", "weight_decay", "cell_options", "partial", "cell_plugin", "cell_plugin_version", "task_plugin",
               "task_plugin_version", "steps", "precision", "compile_seconds", "params_mixer", "stop_reason",
               "backbone", "preset", "schedule", "warmup_steps", "recipe", "lr_floor", "code_version", "extras"]
assert set(KEY_COLUMNS) <= set(RUN_COLUMNS)
# What a file must hold to be read as a runs.csv (or a curves.csv, samples.csv) at all. Older files may lack
# setting columns that were added later; readers fill them in blank.
RUN_REQUIRED = ["schema_version", "task", *ARCHITECTURE_COLUMNS, "seed", "device", "status"]
CURVE_COLUMNS = ["schema_version", *KEY_COLUMNS, "epoch", "metric", "value"]
SAMPLE_COLUMNS = ["schema_version", *KEY_COLUMNS, "metric", "sample", "epoch", "warmup", "value"]
# Accuracy per slice of a held-out split (e.g. per string length): `count` is how many targets it is over.
SLICE_FIELDS = ["split", "slice_name", "slice", "value", "count"]
SLICE_COLUMNS = ["schema_version", *KEY_COLUMNS, *SLICE_FIELDS]
DETAIL_REQUIRED = ["schema_version", "task", *ARCHITECTURE_COLUMNS, "seed"]
# A slices.csv written before a setting existed lacks its column, as runs.csv does; its own columns must be there.
SLICE_REQUIRED = [*DETAIL_REQUIRED, *SLICE_FIELDS]
# Columns read as text and as True/False; every other run column outside the key is a measured or set number.
TEXT_COLUMNS = ["task", "cell", "backend", "device", "status", "error", "prediction", "cell_options", "cell_plugin",
                "cell_plugin_version", "task_plugin", "task_plugin_version", "precision", "stop_reason", "backbone",
                "preset", "schedule", "recipe", "code_version"]
BOOLEAN_COLUMNS = ["bidirectional", "step_ms_noisy", "partial"]
# Figures a cell or measurement adds beyond the columns above, as one JSON object (blank: none). Readers give a dict.
EXTRAS_COLUMN = "extras"
NUMERIC_COLUMNS = [column for column in RUN_COLUMNS
                   if column not in ("schema_version", *KEY_COLUMNS, *TEXT_COLUMNS, *BOOLEAN_COLUMNS, EXTRAS_COLUMN)]
STATUSES = ("ok", "error", "diverged", "timeout", "skipped")
FAILED_STATUSES = ("error", "diverged", "timeout")  # a run with any of these exits 1

RowKey = tuple[Any, ...]  # KEY_COLUMNS' values, typed


@dataclass(frozen=True)
class SplitColumns:
    """The runs.csv columns holding a model's figures on one split of its task (`bpc`: None on training data)."""

    name: str
    loss: str
    accuracy: str
    bpc: str | None


# Every split's figures: the one table the measuring, selection and reporting code read split columns from.
# (`final_loss` and `bpc` keep their names from before the test split existed.)
SPLIT_COLUMNS = {split.name: split for split in (SplitColumns("train", "final_loss", "accuracy", None),
                                                 SplitColumns("valid", "valid_loss", "valid_accuracy", "bpc"),
                                                 SplitColumns("test", "test_loss", "test_accuracy", "test_bpc"))}
assert tuple(SPLIT_COLUMNS) == SPLITS


def is_blank(value: Any) -> bool:
    """Whether a cell holds no value: None, empty CSV text, or NaN (pandas' blank)."""
    return value is None or value == "" or value != value  # the last catches NaN


def _setting(value: Any, column: str) -> Any:
    """A setting's value typed (blank: its neutral value, else None), alike whether it comes from a fresh row or from
    CSV text."""
    kind = SETTING_COLUMNS[column]
    if is_blank(value):
        return NEUTRAL_SETTINGS.get(column)
    return kind(float(value)) if kind is int else kind(value)


def is_neutral(column: str, value: Any) -> bool:
    """Whether `value` (typed, or text from a CSV file) of setting `column` is its NEUTRAL_SETTINGS value."""
    return column in NEUTRAL_SETTINGS and _setting(value, column) == NEUTRAL_SETTINGS[column]


def row_key(row: Mapping[str, Any]) -> RowKey:
    """The key of a row, from typed values (a fresh row) or text (a row read back from a CSV file)."""
    return (str(row["task"]), str(row["cell"]), str(row["backend"]), int(row["num_layers"]),
            row["bidirectional"] in (True, "True"), int(row["hidden_size"]),
            *(_setting(row.get(column), column) for column in SETTING_COLUMNS), int(row["seed"]))


def check_table(columns: Iterable[str], versions: Iterable[Any], source: Path, what: str, required: Iterable[str],
                known: Iterable[str] | None = None) -> None:
    """The one gate a table passes to be read (or, with `known`, extended): every `required` column is there, every
    row's schema version is this benchsuite's, and with `known` no column lies outside it (a newer benchsuite's)."""
    columns = list(columns)
    missing = [column for column in required if column not in columns]
    if missing:
        raise BenchInputError(f"{source}: not a benchsuite {what}: missing column(s) {', '.join(missing)}")
    check_schema_version(versions, source)
    unknown = sorted(set(columns) - set(known)) if known is not None else []
    if unknown:
        raise BenchInputError(f"{source}: columns this benchsuite does not know ({', '.join(unknown)}) under "
                              f"schema_version {SCHEMA_VERSION}")


def check_schema_version(found: Iterable[Any], source: Path) -> None:
    """Every value must be this benchsuite's SCHEMA_VERSION; otherwise say which versions were found."""
    versions = sorted({str(value) for value in found})
    if versions and versions != [str(SCHEMA_VERSION)]:
        raise BenchInputError(f"{source}: written with schema_version {', '.join(versions)}; "
                              f"this benchsuite reads schema_version {SCHEMA_VERSION}")
