"""How rows read for people, declared once: variant names, direction and setting labels, column short names, the
number formats, and plain-text and Markdown tables. The console, summary.md, plots, samples, tuned tables, compare's
output and checkpoint file names all take their words from here (compare and report may not import each other).
"""
from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from .schema import SETTING_COLUMNS, is_blank, is_neutral

if TYPE_CHECKING:
    import pandas

# How `bidirectional` reads (also what `--directions` accepts).
DIRECTION_LABELS = {False: "uni", True: "bi"}
# Column headers narrower than the column names, where tables show them; every other column keeps its name.
SHORT_NAMES = {"num_layers": "layers", "bidirectional": "dir", "hidden_size": "hidden", "batch_size": "batch",
               "max_epochs": "epochs", "weight_decay": "wd", "valid_accuracy": "valid_acc",
               "test_accuracy": "test_acc", "final_loss": "loss", "train_seconds": "train_s",
               "step_ms_median": "step_ms"}
# Short labels of the training settings in a variant's name; a setting without one shows as `column=value`.
SETTING_LABELS = {"lr": "lr", "batch_size": "b", "max_epochs": "e", "clip": "clip", "weight_decay": "wd",
                  "steps": "s"}
# How a neutral setting (schema.NEUTRAL_SETTINGS) reads where a table must tell it from the others' values; a full
# variant name and the shared settings leave it out.
NEUTRAL_LABELS = {"clip": "noclip", "weight_decay": "wd0", "steps": "split"}


def short_name(column: str) -> str:
    """A column's table header, e.g. `layers` for num_layers."""
    return SHORT_NAMES.get(column, column)


def direction_label(bidirectional: Any) -> str:
    """`bi` or `uni`, from a typed value or runs.csv's text."""
    return DIRECTION_LABELS[bidirectional in (True, "True")]


def architecture_name(row: Mapping[str, Any]) -> str:
    """A cell architecture without its width, e.g. `lstm 2L bi`."""
    return f"{row['cell']} {row['num_layers']}L {direction_label(row['bidirectional'])}"


def _setting_value(value: Any) -> str:
    return "?" if is_blank(value) else f"{float(value):g}" if isinstance(value, float) else str(value)


def setting_label(column: str, value: Any) -> str:
    """One setting as a variant's name shows it, e.g. `lr0.01`, `b32`, `noclip`; `b?` where it is unknown."""
    if column in NEUTRAL_LABELS and is_neutral(column, value):  # other settings name their neutral value as any
        return NEUTRAL_LABELS[column]
    shown = _setting_value(value)
    return f"{SETTING_LABELS[column]}{shown}" if column in SETTING_LABELS else f"{column}={shown}"


def variant_name(row: Mapping[str, Any], settings: Iterable[str] | None = None) -> str:
    """The variant within a task, architecture then the training `settings` named, e.g. `lstm 2L bi h32 lr0.01
    b32 e20 clip1`; tables and plots name only the settings that vary among their rows. By default every setting
    is named, but for clip and weight decay at their neutral values."""
    if settings is None:
        settings = [column for column in SETTING_COLUMNS if not is_neutral(column, row.get(column))]
    shown = "".join(f" {setting_label(column, row.get(column))}" for column in settings)
    return f"{architecture_name(row)} h{row['hidden_size']}{shown}"


def variant_label(row: Mapping[str, Any]) -> str:
    """One row (a variant of a task and a seed), e.g. `ship lstm 2L uni h25 lr0.1 b170 e100 seed 0`."""
    return f"{row['task']} {variant_name(row)} seed {row['seed']}"


def varying_settings(table: pandas.DataFrame) -> list[str]:
    """The setting columns whose value differs between rows of `table` (these tell its variants apart)."""
    return [column for column in SETTING_COLUMNS if column in table and table[column].nunique(dropna=False) > 1]


def fixed_settings(table: pandas.DataFrame) -> str:
    """The settings every row of `table` shares, e.g. `lr 0.01, batch_size 32, max_epochs 20` ('' if none), but
    for a shared neutral clip or weight decay."""
    shared = [column for column in SETTING_COLUMNS if column in table and table[column].nunique(dropna=False) == 1
              and not is_neutral(column, table[column].iloc[0])]
    return ", ".join(f"{column} {_setting_value(table[column].iloc[0])}" for column in shared)


def aligned(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    """Rows as left-aligned columns two spaces apart (the first row is usually the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


# Characters that could end a table cell, start HTML, a link or an image, a code span or an entity; escaped with
# a backslash, which Markdown allows before any ASCII punctuation. Emphasis (* and _) is left alone: the report
# marks the best figures in bold, and emphasis cannot break out of a cell or a line.
_SPECIAL = re.compile(r"([\\`|<>\[\]&#~!])")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# What makes the start of a line a list item, a quote or a heading underline.
_BLOCK_MARK = re.compile(r"^(\d+)([.)])|^([-+*=>])")


def markdown_text(text: object, line_start: bool = False) -> str:
    """`text` as literal Markdown inline text on one line: names and error messages from a run (which anyone can
    craft) cannot split a table row, add a heading, raw HTML or a remote image. With `line_start`, text that
    begins a line or list item cannot begin a list or quote either."""
    text = _SPECIAL.sub(r"\\\1", _LINE_BREAK.sub(" ", str(text)))
    if line_start:
        text = _BLOCK_MARK.sub(lambda mark: f"{mark[1]}\\{mark[2]}" if mark[1] else f"\\{mark[3]}", text.lstrip())
    return text


def markdown_table(rows: Sequence[Sequence[str]]) -> list[str]:
    """A GitHub-flavoured Markdown table; the first row is the header. Every cell is escaped (`markdown_text`)."""
    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(markdown_text(cell) for cell in row) + " |"

    return [line(rows[0]), line(["---"] * len(rows[0])), *(line(row) for row in rows[1:])]


def figure(value: float) -> str:
    """A measured figure in four significant digits (large ones whole); never-reached and missing spelled out."""
    if is_blank(value):
        return "-"
    if math.isinf(value):
        return "never"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


def setting(value: Any) -> str:
    """A setting exactly: whole numbers without a decimal point, others in full; unset (no clipping) as '-'."""
    if is_blank(value):
        return "-"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
