"""The tuned table and the scoreboard (`bench best RUN_DIR`, and summary.md's "Tuned" section) for people and
machines: Markdown, aligned text, CSV and JSON."""
from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..results.naming import aligned, architecture_name, figure, markdown_table, markdown_text, setting
from ..results.schema import SETTING_COLUMNS
from ..results.tuning import scoreboard, tuned

if TYPE_CHECKING:
    import pandas

FORMATS = ("text", "md", "csv", "json")
EXPLAINED = ("Each variant's training setting is chosen by its mean validation figure over seeds (accuracy; bits per "
             "character for language modelling), and that setting's test figures are reported (mean ± std over its "
             "ok seeds). A setting with a failed seed loses to any without one.")


def _spread(mean: float, std: float, seeds: int) -> str:
    if mean is None or math.isnan(mean):
        return "-"
    return figure(mean) + (f" ± {figure(std)}" if seeds > 1 and not math.isnan(std) else "")


def _architecture(row: dict[str, Any]) -> str:
    """A tuned row's cell architecture with its width; a scoreboard row's without."""
    hidden = f" h{setting(row['hidden_size'])}" if "hidden_size" in row else ""
    return architecture_name(row) + hidden


def tuned_rows(table: "pandas.DataFrame") -> list[list[str]]:
    """The tuned table as strings, header first."""
    header = ["task", "variant", "device", *SETTING_COLUMNS, "tried", "reported on", "accuracy", "loss", "bpc",
              "seeds ok", "failed"]
    rows = [[row["task"], _architecture(row), row["device"], *(setting(row[c]) for c in SETTING_COLUMNS),
             str(row["settings_tried"]), row["reported_on"] + ("" if row["reported_on"] == "test" else " (optimistic)"),
             _spread(row["accuracy_mean"], row["accuracy_std"], row["n_seeds"]),
             _spread(row["loss_mean"], row["loss_std"], row["n_seeds"]),
             _spread(row["bpc_mean"], row["bpc_std"], row["n_seeds"]), str(row["n_seeds"]), str(row["n_failed"])]
            for row in table.to_dict("records")]
    return [header, *rows]


def scoreboard_rows(board: "pandas.DataFrame") -> list[list[str]]:
    """The scoreboard as strings, header first."""
    header = ["rank", "cell", "mean tuned accuracy", "tasks", "not on test (optimistic)"]
    rows = [["-" if math.isnan(row["rank"]) else setting(float(row["rank"])), _architecture(row), figure(row["score"]), f"{row['n_tasks']} ({row['tasks']})",
             row["optimistic_tasks"] or "-"] for row in board.to_dict("records")]
    return [header, *rows]


def _notes(table: "pandas.DataFrame") -> list[str]:
    return [f"{task}: {note}" for task, note in table.groupby("task", sort=True)["note"].first().items()
            if not note.endswith("reported on test")]


def tuned_markdown(runs: "pandas.DataFrame", selection_metrics: Mapping[str, str] | None = None) -> list[str]:
    """summary.md's "Tuned" section: the tuned table, the scoreboard and what is optimistic (`selection_metrics`:
    each task's selection metric by name, as `tuned` takes them)."""
    table = tuned(runs, selection_metrics)
    if table.empty:
        return []
    lines = ["## Tuned", "", EXPLAINED, "", *markdown_table(tuned_rows(table)), "", "### Scoreboard", "",
             "Mean over tasks of each cell's tuned accuracy (MAD's score), ranked.", "",
             *markdown_table(scoreboard_rows(scoreboard(table)))]
    notes = _notes(table)
    return lines + (["", *("- " + markdown_text(note, line_start=True) for note in notes)] if notes else [])


def _records(frame: "pandas.DataFrame") -> list[dict[str, Any]]:
    """Rows with NaN as null, for JSON."""
    return [{key: (None if isinstance(value, float) and math.isnan(value) else value) for key, value in row.items()}
            for row in frame.to_dict("records")]


def format_best(runs: "pandas.DataFrame", fmt: str, selection_metrics: Mapping[str, str] | None = None) -> str:
    """`bench best`'s output in `fmt`: the tuned table, then the scoreboard."""
    table = tuned(runs, selection_metrics)
    board = scoreboard(table)
    if fmt == "json":
        return json.dumps({"tuned": _records(table), "scoreboard": _records(board)}, indent=2, default=str) + "\n"
    if fmt == "csv":  # one table a CSV file can hold: the tuned rows, each with its cell's score and rank
        keys = ["cell", "backend", "num_layers", "bidirectional"]
        return table.merge(board[[*keys, "score", "rank"]], on=keys, how="left").to_csv(index=False)
    if fmt == "md":
        return "\n".join(tuned_markdown(runs, selection_metrics)) + "\n"
    lines = [*_aligned_section("tuned", tuned_rows(table)), "", *_aligned_section("scoreboard", scoreboard_rows(board))]
    notes = _notes(table)
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"


def _aligned_section(title: str, rows: Sequence[Sequence[str]]) -> list[str]:
    return [f"{title}:", *aligned(rows, indent="  ")]
