"""The tuned table, the scoreboard and its aggregate scores with uncertainty (`bench best RUN_DIR`, summary.md's
"Tuned" section and report.html) for people and machines: Markdown, aligned text, CSV, JSON and a LaTeX table."""
from __future__ import annotations

import json
import math
import textwrap
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas

from ..analysis.aggregate import (
    IMPROVEMENT_COLUMNS,
    SCOREBOARD_COLUMNS,
    aggregate_scoreboard,
    improvement_table,
    latex_table,
)
from ..errors import BenchInputError
from ..results.naming import (
    aligned,
    architecture_name,
    figure,
    markdown_table,
    markdown_text,
    setting,
    varying_settings,
)
from ..results.tuning import SCORED_CELL, scoreboard, scored_seed_runs, tuned

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


def tuned_rows(table: pandas.DataFrame, runs: pandas.DataFrame) -> list[list[str]]:
    """The tuned table as strings, header first; of the settings, those that vary between `runs` (the others are
    the same in every row and would only widen it)."""
    settings = varying_settings(runs)
    header = ["task", "variant", "device", *settings, "tried", "reported on", "accuracy", "loss", "bpc",
              "seeds ok", "failed"]
    rows = [[row["task"], _architecture(row), row["device"], *(setting(row[c]) for c in settings),
             str(row["settings_tried"]), row["reported_on"] + ("" if row["reported_on"] == "test" else " (optimistic)"),
             _spread(row["accuracy_mean"], row["accuracy_std"], row["n_seeds"]),
             _spread(row["loss_mean"], row["loss_std"], row["n_seeds"]),
             _spread(row["bpc_mean"], row["bpc_std"], row["n_seeds"]), str(row["n_seeds"]), str(row["n_failed"])]
            for row in table.to_dict("records")]
    return [header, *rows]


def scoreboard_rows(board: pandas.DataFrame) -> list[list[str]]:
    """The scoreboard as strings, header first."""
    header = ["rank", "cell", "mean tuned accuracy", "tasks", "not on test (optimistic)"]
    rows = [["-" if math.isnan(row["rank"]) else setting(float(row["rank"])), _architecture(row), figure(row["score"]),
             f"{row['n_tasks']} ({row['tasks']})", row["optimistic_tasks"] or "-"] for row in board.to_dict("records")]
    return [header, *rows]


@dataclass(frozen=True)
class Aggregate:
    """Each cell's IQM of normalized tuned accuracy with its interval (`board`), and P(cell beats other) per pair."""

    board: pandas.DataFrame
    pairs: pandas.DataFrame
    tasks_resampled: bool
    refused: str | None = None  # why the runs could not be aggregated (the tables are then empty)

    def explained(self) -> str:
        resampled = ("seeds resampled within each task, and the tasks themselves, since some task ran one seed"
                     if self.tasks_resampled else "seeds resampled within each task")
        return ("Interquartile mean (IQM) of each cell's tuned accuracy over tasks and seeds, normalized per task as "
                "(accuracy - chance) / (ceiling - chance) (chance 0 and ceiling 1 where the task states none), with "
                f"its 95% stratified bootstrap confidence interval ({resampled}). Cells whose intervals overlap "
                "cannot be told apart at that confidence.")


IMPROVEMENT_EXPLAINED = ("Probability that the row's cell beats the column's: the share of pairs of their runs on a "
                         "task they share where the row's scores higher (ties count one half), averaged over tasks.")


def _labelled(frame: pandas.DataFrame) -> pandas.DataFrame:
    """`frame` with its `cell` column naming the architecture as the scoreboard shows it (the backend too where the
    frame holds several)."""
    several_backends = frame["backend"].nunique() > 1
    labels = [architecture_name(row) + (f" ({row['backend']})" if several_backends else "")
              for row in frame.to_dict("records")]
    return frame.assign(cell=labels)


def seed_scores(runs: pandas.DataFrame, selection_metrics: Mapping[str, str] | None = None) -> pandas.DataFrame:
    """The scoreboard's seed runs, one row per cell, task and seed, the cell named as the scoreboard shows it
    (`selection_metrics` as `tuned` takes them)."""
    return _labelled(scored_seed_runs(runs, selection_metrics))


def aggregate(runs: pandas.DataFrame, selection_metrics: Mapping[str, str] | None = None) -> Aggregate:
    """The aggregate scores of the scoreboard's seed runs; the tasks are resampled too when some cell ran a task
    with one seed, since resampling one seed alone cannot show any spread."""
    seeds = seed_scores(runs, selection_metrics)
    single = bool(seeds.empty or seeds.groupby(["cell", "task"]).size().min() == 1)
    try:
        board = aggregate_scoreboard(seeds, score="reported_accuracy", resample_tasks=single)
    except BenchInputError as exc:  # e.g. a hand-edited runs.csv holding one seed twice: the rest still reports
        return Aggregate(pandas.DataFrame(columns=SCOREBOARD_COLUMNS), pandas.DataFrame(columns=IMPROVEMENT_COLUMNS),
                         single, str(exc))
    return Aggregate(board, improvement_table(seeds, board, score="reported_accuracy"), single)


def _interval(low: float, high: float) -> str:
    return f"[{low:.3f}, {high:.3f}]"


def aggregate_rows(result: Aggregate) -> list[list[str]]:
    """The aggregate scoreboard as strings, header first, best IQM first."""
    header = ["cell", "IQM", "95% CI", "tasks", "runs", "interval overlaps"]
    return [header, *([row["cell"], f"{row['iqm']:.3f}", _interval(row["ci_low"], row["ci_high"]),
                       str(row["n_tasks"]), str(row["n_runs"]), row["overlaps"].replace(",", ", ") or "none"]
                      for row in result.board.to_dict("records"))]


def improvement_rows(result: Aggregate) -> list[list[str]]:
    """P(row beats column) for every two cells, in the board's order, header first ('-' where they share no task)."""
    cells = list(result.board["cell"])
    beats = {(cell, cell): None for cell in cells}
    for row in result.pairs.to_dict("records"):
        shared = row["n_tasks"] > 0
        beats[row["cell"], row["other"]] = row["probability"] if shared else None
        beats[row["other"], row["cell"]] = 1 - row["probability"] if shared else None
    return [["P(row beats column)", *cells],
            *([cell, *("-" if beats[cell, other] is None else f"{beats[cell, other]:.3f}" for other in cells)]
              for cell in cells)]


def _aggregate_markdown(result: Aggregate) -> list[str]:
    if result.refused:
        return ["", markdown_text(f"No aggregate scores: {result.refused}")]
    if result.board.empty:
        return []
    lines = ["", result.explained(), "", *markdown_table(aggregate_rows(result))]
    if len(result.board) > 1:
        lines += ["", IMPROVEMENT_EXPLAINED, "", *markdown_table(improvement_rows(result))]
    return lines


def _notes(table: pandas.DataFrame) -> list[str]:
    return [f"{task}: {note}" for task, note in table.groupby("task", sort=True)["note"].first().items()
            if not note.endswith("reported on test")]


def tuned_markdown(runs: pandas.DataFrame, selection_metrics: Mapping[str, str] | None = None) -> list[str]:
    """summary.md's "Tuned" section: the tuned table, the scoreboard and what is optimistic (`selection_metrics`:
    each task's selection metric by name, as `tuned` takes them)."""
    table = tuned(runs, selection_metrics)
    if table.empty:
        return []
    lines = ["## Tuned", "", EXPLAINED, "", *markdown_table(tuned_rows(table, runs)), "", "### Scoreboard", "",
             "Mean over tasks of each cell's tuned accuracy (MAD's score), ranked.", "",
             *markdown_table(scoreboard_rows(scoreboard(table))),
             *_aggregate_markdown(aggregate(runs, selection_metrics))]
    notes = _notes(table)
    return lines + (["", *("- " + markdown_text(note, line_start=True) for note in notes)] if notes else [])


def _records(frame: pandas.DataFrame) -> list[dict[str, Any]]:
    """Rows with NaN as null, for JSON."""
    return [{key: (None if isinstance(value, float) and math.isnan(value) else value) for key, value in row.items()}
            for row in frame.to_dict("records")]


def format_best(runs: pandas.DataFrame, fmt: str, selection_metrics: Mapping[str, str] | None = None) -> str:
    """`bench best`'s output in `fmt`: the tuned table, then the scoreboard and its aggregate scores (LaTeX: each
    cell's tuned accuracy per task, mean ± std over seeds). `selection_metrics` as `tuned` takes them."""
    if fmt == "latex":
        return latex_table(seed_scores(runs, selection_metrics), score="reported_accuracy")
    table = tuned(runs, selection_metrics)
    board = scoreboard(table)
    if fmt == "json":
        result = aggregate(runs, selection_metrics)
        return json.dumps({"tuned": _records(table), "scoreboard": _records(board),
                           "aggregate": _records(result.board.assign(tasks_resampled=result.tasks_resampled)),
                           "improvement": _records(result.pairs), "aggregate_refused": result.refused},
                          indent=2, default=str) + "\n"
    if fmt == "csv":  # one table a CSV file can hold: the tuned rows, each with its cell's score and rank
        return table.merge(board[[*SCORED_CELL, "score", "rank"]], on=SCORED_CELL, how="left").to_csv(index=False)
    if fmt == "md":
        return "\n".join(tuned_markdown(runs, selection_metrics)) + "\n"
    lines = [*_aligned_section("tuned", tuned_rows(table, runs)), "",
             *_aligned_section("scoreboard", scoreboard_rows(board))]
    result = aggregate(runs, selection_metrics)
    if result.refused:
        lines += ["", f"no aggregate scores: {result.refused}"]
    if not result.board.empty:
        lines += ["", *_aligned_section("aggregate", aggregate_rows(result)), *_wrapped(result.explained())]
    if len(result.board) > 1:
        lines += ["", *_aligned_section("probability of improvement", improvement_rows(result)),
                  *_wrapped(IMPROVEMENT_EXPLAINED)]
    notes = _notes(table)
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"


def _aligned_section(title: str, rows: Sequence[Sequence[str]]) -> list[str]:
    return [f"{title}:", *aligned(rows, indent="  ")]


def _wrapped(text: str) -> list[str]:
    return textwrap.wrap(text, width=116, initial_indent="  ", subsequent_indent="  ")
