"""Plain-text and Markdown tables from rows of strings, and the number formats reports share."""
from __future__ import annotations

import math
from typing import Any, Sequence


def aligned(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    """Rows as left-aligned columns two spaces apart (the first row is usually the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def markdown_table(rows: Sequence[Sequence[str]]) -> list[str]:
    """A GitHub-flavoured Markdown table; the first row is the header. Pipes in cells are escaped."""
    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"

    return [line(rows[0]), line(["---"] * len(rows[0])), *(line(row) for row in rows[1:])]


def figure(value: float) -> str:
    """A measured figure in four significant digits (large ones whole); never-reached and missing spelled out."""
    if value is None or math.isnan(value):
        return "-"
    if math.isinf(value):
        return "never"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


def setting(value: Any) -> str:
    """A setting exactly: whole numbers without a decimal point, others in full."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
