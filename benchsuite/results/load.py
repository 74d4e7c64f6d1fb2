"""Loading a finished (or interrupted) run back, checked: runs.csv, curves.csv, samples.csv and meta.json.

Every problem with a file (missing, unreadable, not the expected table, another schema version)
becomes one BenchInputError naming the file, so the command line answers with exit code 2.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BenchInputError
from .files import complete_csv_text
from .schema import (DETAIL_REQUIRED, NEUTRAL_SETTINGS, NUMERIC_COLUMNS, RUN_REQUIRED, SETTING_COLUMNS,
                     SLICE_COLUMNS, TEXT_COLUMNS, check_schema_version)

if TYPE_CHECKING:
    import pandas

BOOLEANS = {"True": True, "False": False, "true": True, "false": False}


def _read_csv(path: Path, required: list[str], what: str, infer_types: bool = False) -> "pandas.DataFrame":
    """The file as text (or, with `infer_types`, names as text and the rest as pandas reads it), checked."""
    import pandas

    if not path.is_file():
        raise BenchInputError(f"{path}: no such file (expected a benchsuite {what})")
    try:
        text = complete_csv_text(path)[0]  # the rule --resume reads by: a cut-off last row is not a row
    except BenchInputError as exc:
        raise BenchInputError(f"not a readable {what}: {exc}") from None
    try:
        # Only empty cells are missing values: a task called "NA" stays a name.
        dtype = {column: str for column in TEXT_COLUMNS} if infer_types else str
        table = pandas.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""], dtype=dtype)
    except (OSError, ValueError) as exc:  # pandas reports malformed text as ValueError subclasses
        raise BenchInputError(f"{path}: not a readable {what} ({type(exc).__name__}: {str(exc).strip()})") from None
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise BenchInputError(f"{path}: not a benchsuite {what}: missing column(s) {', '.join(missing)}")
    check_schema_version(table["schema_version"].dropna(), path)
    return table


def with_settings(table: "pandas.DataFrame") -> "pandas.DataFrame":
    """Setting columns absent from a runs.csv written before they existed, added blank: every row has a full key.
    A text setting's blank reads as its neutral value (a run from before --backbone is a `stack` run).
    (curves.csv and samples.csv keep only the columns they had: readers join them to runs.csv on those.)"""
    for column in SETTING_COLUMNS:
        if column not in table:
            table[column] = None
        if SETTING_COLUMNS[column] is str and NEUTRAL_SETTINGS.get(column) is not None:
            table[column] = table[column].fillna(NEUTRAL_SETTINGS[column])
    return table


def _reject_first(table: "pandas.DataFrame", column: str, bad: "pandas.Series", source: Path, what: str) -> None:
    """A bad-input error naming the file line of the first flagged cell, if any cell is flagged."""
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        line = position + 2  # one for the header, one for counting from 1
        raise BenchInputError(f"{source}, line {line}: {column} {table[column].iloc[position]!r} is not {what}")


def numeric(table: "pandas.DataFrame", column: str, source: Path) -> "pandas.Series":
    """`column` as floats (blank cells NaN); a cell that is not a number is a bad-input error."""
    import pandas

    text = table[column]
    values = pandas.to_numeric(text, errors="coerce").astype(float)
    _reject_first(table, column, text.notna() & values.isna() & (text.str.lower() != "nan"), source, "a number")
    return values


def whole(table: "pandas.DataFrame", column: str, source: Path) -> "pandas.Series":
    """`column` as whole numbers; blank or fractional cells are a bad-input error."""
    values = numeric(table, column, source)
    bad = values.map(lambda v: not (math.isfinite(v) and float(v).is_integer()))
    _reject_first(table, column, bad, source, "a whole number")
    return values.astype(int)


def boolean(table: "pandas.DataFrame", column: str, source: Path) -> "pandas.Series":
    """`column` as True/False, as csv writes Python's booleans."""
    values = table[column].map(BOOLEANS.get)
    _reject_first(table, column, values.isna(), source, "True or False")
    return values.astype(bool)


def _typed_keys(table: "pandas.DataFrame", source: Path) -> "pandas.DataFrame":
    """Key columns typed as the sweep wrote them: names as text, sizes and seeds as ints, direction as bool."""
    table = table.copy()
    for column in ("num_layers", "hidden_size", "seed"):
        table[column] = whole(table, column, source)
    table["bidirectional"] = boolean(table, "bidirectional", source)
    for column, kind in SETTING_COLUMNS.items():
        if column in table and kind is not str:
            table[column] = numeric(table, column, source)
    for column in ("task", "cell", "backend"):
        if table[column].isna().any():
            raise BenchInputError(f"{source}: {column} is blank on some rows")
    return table


def load_runs(path: Path) -> "pandas.DataFrame":
    """runs.csv with typed key columns and every known metric and setting as floats (blank: NaN)."""
    table = _typed_keys(with_settings(_read_csv(path, RUN_REQUIRED, "runs.csv")), path)
    for column in NUMERIC_COLUMNS:
        if column in table:
            table[column] = numeric(table, column, path)
    table["device"] = table["device"].fillna("")
    table["error"] = table["error"].fillna("") if "error" in table else ""
    return table


def read_runs(run_dir: str | Path) -> "pandas.DataFrame":
    """A run folder's runs.csv as users see it (`benchsuite.run`'s table): checked like `load_runs`, names as
    text, other columns as pandas infers them (whole-number columns stay whole)."""
    path = Path(run_dir) / "runs.csv"
    return with_settings(_read_csv(path, RUN_REQUIRED, "runs.csv", infer_types=True))


def _load_details(path: Path, columns: list[str], what: str) -> "pandas.DataFrame | None":
    """One of a run's long-format files with typed keys and numeric values, or None when the run has none."""
    if not path.exists():
        return None
    table = _typed_keys(_read_csv(path, columns, what), path)
    table["value"] = numeric(table, "value", path)
    return table


def load_curves(path: Path) -> "pandas.DataFrame | None":
    """curves.csv with numeric epochs and values, or None."""
    table = _load_details(path, DETAIL_REQUIRED, "curves.csv")
    if table is not None:
        table["epoch"] = numeric(table, "epoch", path)
    return table


def load_samples(path: Path) -> "pandas.DataFrame | None":
    """samples.csv without its warm-up samples (medians leave them out too), or None."""
    table = _load_details(path, DETAIL_REQUIRED, "samples.csv")
    return None if table is None else table[~boolean(table, "warmup", path)]


def load_slices(path: Path) -> "pandas.DataFrame | None":
    """slices.csv with numeric slice values and counts, or None."""
    table = _load_details(path, SLICE_COLUMNS, "slices.csv")
    if table is not None:
        for column in ("slice", "count"):
            table[column] = numeric(table, column, path)
    return table


def load_meta(path: Path) -> dict[str, Any] | None:
    """meta.json as a dict, or None when the run has none."""
    if not path.exists():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchInputError(f"{path}: not a readable meta.json ({type(exc).__name__}: {exc})") from None
    if not isinstance(meta, dict):
        raise BenchInputError(f"{path}: not a benchsuite meta.json (expected a JSON object)")
    if "schema_version" in meta:
        check_schema_version([meta["schema_version"]], path)
    return meta
