"""Loading a finished (or interrupted) run back, checked and typed: runs.csv, its details, summary.csv and meta.json.

Every problem with a file (missing, unreadable, not the expected table, another schema version)
becomes one BenchInputError naming the file, so the command line answers with exit code 2.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import BenchInputError
from .files import complete_csv_text
from .schema import (
    ARCHITECTURE_COLUMNS,
    BOOLEAN_COLUMNS,
    DETAIL_REQUIRED,
    EXTRAS_COLUMN,
    KEY_COLUMNS,
    NEUTRAL_SETTINGS,
    NUMERIC_COLUMNS,
    RUN_REQUIRED,
    SETTING_COLUMNS,
    SLICE_REQUIRED,
    TEXT_COLUMNS,
    check_schema_version,
    check_table,
)

if TYPE_CHECKING:
    import pandas

BOOLEANS = {"True": True, "False": False, "true": True, "false": False}


def _read_csv(path: Path, required: list[str], what: str) -> pandas.DataFrame:
    """The file as text, through the gate every reader (and --resume) shares: whole records only, the required
    columns, this benchsuite's schema version."""
    import pandas

    if not path.is_file():
        raise BenchInputError(f"{path}: no such file (expected a benchsuite {what})")
    try:
        text = complete_csv_text(path)[0]  # the rule --resume reads by: a cut-off last row is not a row
    except BenchInputError as exc:
        raise BenchInputError(f"not a readable {what}: {exc}") from None
    try:
        # Only empty cells are missing values: a task called "NA" stays a name.
        table = pandas.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""], dtype=str)
    except (OSError, ValueError) as exc:  # pandas reports malformed text as ValueError subclasses
        raise BenchInputError(f"{path}: not a readable {what} ({type(exc).__name__}: {str(exc).strip()})") from None
    check_table(table.columns, table["schema_version"].dropna() if "schema_version" in table else [], path, what,
                required)
    return table


def with_settings(table: pandas.DataFrame) -> pandas.DataFrame:
    """Setting columns absent from a runs.csv written before they existed, added blank: every row has a full key.
    A text setting's blank reads as its neutral value (a run from before --backbone is a `stack` run).
    (curves.csv and samples.csv keep only the columns they had: readers join them to runs.csv on those.)"""
    for column in SETTING_COLUMNS:
        if column not in table:
            table[column] = None
        if SETTING_COLUMNS[column] is str and NEUTRAL_SETTINGS.get(column) is not None:
            table[column] = table[column].fillna(NEUTRAL_SETTINGS[column])
    return table


def _reject_first(table: pandas.DataFrame, column: str, bad: pandas.Series, source: Path, what: str) -> None:
    """A bad-input error naming the file line of the first flagged cell, if any cell is flagged."""
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        line = position + 2  # one for the header, one for counting from 1
        raise BenchInputError(f"{source}, line {line}: {column} {table[column].iloc[position]!r} is not {what}")


def numeric(table: pandas.DataFrame, column: str, source: Path) -> pandas.Series:
    """`column` as floats (blank cells NaN); a cell that is not a number is a bad-input error."""
    import pandas

    text = table[column]
    values = pandas.to_numeric(text, errors="coerce").astype(float)
    unread = text.notna() & values.isna()
    if unread.any():  # only then read the text again (a whole column of it costs a large file's load a third)
        _reject_first(table, column, unread & (text.str.lower() != "nan"), source, "a number")
    return values


def whole(table: pandas.DataFrame, column: str, source: Path) -> pandas.Series:
    """`column` as whole numbers; blank or fractional cells are a bad-input error."""
    import numpy
    import pandas

    values = numeric(table, column, source)
    array = values.to_numpy()
    bad = pandas.Series(~(numpy.isfinite(array) & (array == numpy.floor(array))), index=values.index)
    _reject_first(table, column, bad, source, "a whole number")
    return values.astype(int)


def boolean(table: pandas.DataFrame, column: str, source: Path, blank_allowed: bool = False) -> pandas.Series:
    """`column` as True/False, as csv writes Python's booleans (with `blank_allowed`, blank cells stay missing)."""
    values = table[column].map(BOOLEANS.get)
    _reject_first(table, column, values.isna() & (table[column].notna() | (not blank_allowed)), source,
                  "True or False")
    return values.astype(bool) if values.notna().all() else values


def number(table: pandas.DataFrame, column: str, source: Path) -> pandas.Series:
    """`column` as whole numbers where every cell is written as one (as pandas reads a CSV), else as floats."""
    text, values = table[column], numeric(table, column, source)
    whole_text = len(text) and text.notna().all() and text.str.fullmatch(r"-?[0-9]+").all()
    return values.astype(int) if whole_text else values


def _extras(table: pandas.DataFrame, source: Path) -> pandas.Series:
    """The extras column as dicts (empty where blank, or where the file predates the column)."""
    import pandas

    decoded = []
    for line, text in enumerate(table[EXTRAS_COLUMN] if EXTRAS_COLUMN in table else [None] * len(table), start=2):
        try:
            value = {} if not isinstance(text, str) else json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise BenchInputError(f"{source}, line {line}: {EXTRAS_COLUMN} {text!r} is not a JSON object")
        decoded.append(value)
    return pandas.Series(decoded, index=table.index, dtype=object)


def _typed_keys(table: pandas.DataFrame, source: Path) -> pandas.DataFrame:
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


def load_runs(path: Path) -> pandas.DataFrame:
    """runs.csv typed, the one reader of it, its rows sorted by key: names and text as text, key sizes and seeds as
    ints, flags as bools (blank where a row has none), measured and set figures as numbers (ints where every cell is
    written whole, else floats with blank as NaN), and `extras` as dicts."""
    table = _typed_keys(with_settings(_read_csv(path, RUN_REQUIRED, "runs.csv")), path)
    for column in ("schema_version", *NUMERIC_COLUMNS):
        if column in table:
            table[column] = number(table, column, path)
    for column in BOOLEAN_COLUMNS:
        if column in table and column not in KEY_COLUMNS:  # bidirectional is typed with the key
            table[column] = boolean(table, column, path, blank_allowed=True)
    table[EXTRAS_COLUMN] = _extras(table, path)
    table["device"] = table["device"].fillna("")
    table["error"] = table["error"].fillna("") if "error" in table else ""
    # Rows are written as they finish (under Ray, in any order): every reader sees them in key order.
    return table.sort_values(KEY_COLUMNS, kind="stable", na_position="first", ignore_index=True)


def _load_details(path: Path, columns: list[str], what: str) -> pandas.DataFrame | None:
    """One of a run's long-format files with typed keys and numeric values, or None when the run has none."""
    if not path.exists():
        return None
    table = _typed_keys(_read_csv(path, columns, what), path)
    table["value"] = numeric(table, "value", path)
    return table


def load_curves(path: Path) -> pandas.DataFrame | None:
    """curves.csv with numeric epochs and values, or None."""
    table = _load_details(path, DETAIL_REQUIRED, "curves.csv")
    if table is not None:
        table["epoch"] = numeric(table, "epoch", path)
    return table


def load_samples(path: Path, keep_warmup: bool = False) -> pandas.DataFrame | None:
    """samples.csv with numeric values and a True/False `warmup`, or None; without `keep_warmup` its warm-up
    samples are left out (medians leave them out too)."""
    table = _load_details(path, DETAIL_REQUIRED, "samples.csv")
    if table is None:
        return None
    table["warmup"] = boolean(table, "warmup", path)
    return table if keep_warmup else table[~table["warmup"]]


def load_slices(path: Path) -> pandas.DataFrame | None:
    """slices.csv with numeric slice values and counts, or None."""
    table = _load_details(path, SLICE_REQUIRED, "slices.csv")
    if table is not None:
        for column in ("slice", "count"):
            table[column] = numeric(table, column, path)
    return table


def load_summary(path: Path) -> pandas.DataFrame | None:
    """summary.csv with its variant columns typed as runs.csv's and its figures as numbers, or None."""
    if not path.exists():
        return None
    table = _read_csv(path, ["schema_version", "task", *ARCHITECTURE_COLUMNS, "device", "statuses"], "summary.csv")
    for column in table.columns:
        if column in BOOLEAN_COLUMNS:
            table[column] = boolean(table, column, path)
        elif column not in (*TEXT_COLUMNS, "statuses"):
            table[column] = number(table, column, path)
    return table


def read_json(path: Path, what: str) -> Any:
    """A JSON file's value; an unreadable, malformed or too deeply nested file is a BenchInputError naming `what`."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchInputError(f"{path}: not a readable {what} ({type(exc).__name__}: {exc})") from None
    except RecursionError:  # the decoder recurses once per nesting level; hostile input must not traceback
        raise BenchInputError(f"{path}: not a readable {what} (nested too deeply)") from None


def load_meta(path: Path) -> dict[str, Any] | None:
    """meta.json as a dict, or None when the run has none."""
    if not path.exists():
        return None
    meta = read_json(path, "meta.json")
    if not isinstance(meta, dict):
        raise BenchInputError(f"{path}: not a benchsuite meta.json (expected a JSON object)")
    if "schema_version" in meta:
        check_schema_version([meta["schema_version"]], path)
    return meta


@dataclass
class RunResult:
    """A run folder's tables, typed, and what the run that wrote it has to say (`benchsuite.run`'s answer).

    `runs` is read when the result is made; `summary`, `curves`, `samples` (warm-up samples included) and `slices`
    are read on first use (None when the run has no such file). `not_run` counts the jobs --fail-fast left unrun,
    `resume_command` finishes them, `notes` says what the user should know (--params targets out of reach) and
    `kept` counts the rows a resume kept from before. Code written when `benchsuite.run` returned the runs table
    keeps working: the result indexes, measures and answers like `runs`, and `attrs` holds those fields.
    """

    run_dir: Path
    runs: pandas.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    not_run: int = 0
    resume_command: str = ""
    notes: list[str] = field(default_factory=list)
    kept: int = 0

    @cached_property
    def summary(self) -> pandas.DataFrame | None:
        return load_summary(self.run_dir / "summary.csv")

    @cached_property
    def curves(self) -> pandas.DataFrame | None:
        return load_curves(self.run_dir / "curves.csv")

    @cached_property
    def samples(self) -> pandas.DataFrame | None:
        return load_samples(self.run_dir / "samples.csv", keep_warmup=True)

    @cached_property
    def slices(self) -> pandas.DataFrame | None:
        return load_slices(self.run_dir / "slices.csv")

    @property
    def attrs(self) -> dict[str, Any]:
        """The fields `benchsuite.run`'s table carried in `DataFrame.attrs` before this class existed."""
        return {"run_dir": str(self.run_dir), "not_run": self.not_run, "resume": self.resume_command,
                "notes": self.notes}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "runs":  # copy and pickle probe before `runs` exists
            raise AttributeError(name)
        return getattr(self.runs, name)

    def __getitem__(self, key: Any) -> Any:
        return self.runs[key]

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.runs)


def load_run(run_dir: str | Path) -> RunResult:
    """A run folder read back (`benchsuite.load_run`): its runs typed, its meta.json, its other tables on use."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BenchInputError(f"{run_dir}: no such run folder")
    return RunResult(run_dir, load_runs(run_dir / "runs.csv"), load_meta(run_dir / "meta.json") or {})
