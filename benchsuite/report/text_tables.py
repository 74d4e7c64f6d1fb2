"""Plain-text and Markdown tables from rows of strings, and the number formats reports share."""
from __future__ import annotations

import math
import re
from typing import Any, Sequence

from ..results.schema import is_blank


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
