"""Per-variant tuning, reported honestly (`bench best`, and the "Tuned" section of summary.md).

For each task x variant (architecture: cell, backend, layers, direction, hidden size; and device), the swept
training setting (the SETTING_COLUMNS: lr, batch size, epochs, ...) with the best mean *validation* figure over its
seeds is chosen, and that setting's *test* figures are reported, so selection and report use different data.
Where a task has no test split the figures are selected and reported on validation (optimistic), and where it has no
validation split either, on the training data (more optimistic still); the `reported_on` column says which.

Selection figure: each task's `TaskSpec.selection_metric` on validation: accuracy, or bits per character (language
modelling); a task whose spec is not at hand (its plugin is gone) is selected by accuracy. A seed that did not finish
ok (error, diverged, timeout) is a failure of its setting, not a missing value: settings are ranked first by how many
seeds failed (fewer first), then by the mean figure over the seeds that finished, then by their settings in column
order (smaller first), which breaks exact ties reproducibly. Reported means and standard deviations are over the
chosen setting's ok seeds; `n_seeds` and `n_failed` say how many there were.

The scoreboard (MAD's score) ranks each cell architecture (cell, backend, layers, direction) by the mean over tasks
of its tuned reported accuracy; where a task has several hidden sizes of one architecture, the one selected on
validation counts. `scored_seed_runs` gives the seed runs behind those means, for aggregates with uncertainty.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from ..specs import DEFAULT_SELECTION_METRIC, HELD_OUT
from .schema import ARCHITECTURE_COLUMNS, FAILED_STATUSES, SETTING_COLUMNS, SPLIT_COLUMNS, SplitColumns

if TYPE_CHECKING:
    import pandas

TUNED_VARIANT = ["task", *ARCHITECTURE_COLUMNS, "device"]
SCORED_CELL = ["cell", "backend", "num_layers", "bidirectional"]
OPTIMISTIC = {"valid": "selected and reported on validation (optimistic: the task has no test split)",
              "train": "selected and reported on training data (optimistic: the task has no held-out split)"}


def settings_swept(runs: pandas.DataFrame) -> bool:
    """Whether some cell architecture on some task was trained in more than one way (settings or hidden sizes), so
    that tuning had something to choose."""
    tried = runs.drop_duplicates(["task", *ARCHITECTURE_COLUMNS, "device", *SETTING_COLUMNS])
    return bool(tried.duplicated(["task", *SCORED_CELL, "device"]).any())


def _present(runs: pandas.DataFrame, split: SplitColumns) -> bool:
    return split.accuracy in runs and runs[split.accuracy].notna().any()


def _splits(task_runs: pandas.DataFrame) -> tuple[SplitColumns, SplitColumns]:
    """The split a task's settings are selected on, and the one their figures are reported on."""
    held_out = [SPLIT_COLUMNS[name] for name in HELD_OUT if _present(task_runs, SPLIT_COLUMNS[name])]
    select = held_out[0] if held_out else SPLIT_COLUMNS["train"]
    report = held_out[-1] if len(held_out) == 2 else select
    return select, report


def _figure(frame: pandas.DataFrame, split: SplitColumns, by_bpc: bool) -> pandas.Series:
    """The selection figure of each row, oriented so higher is better."""
    import math

    return -frame[split.loss] / math.log(2) if by_bpc else frame[split.accuracy]


def _settings_ranked(variant: pandas.DataFrame, select: SplitColumns, by_bpc: bool) -> list[dict[str, Any]]:
    """Each setting tried for one variant, with its seed counts and mean selection figure, best first."""
    settings = []
    for values, group in variant.groupby(list(SETTING_COLUMNS), sort=True, dropna=False):
        ok = group[group["status"] == "ok"]
        score = _figure(ok, select, by_bpc).mean()
        settings.append({"values": dict(zip(SETTING_COLUMNS, values)), "rows": ok,
                         "n_failed": int(group["status"].isin(FAILED_STATUSES).sum()), "score": score})
    return sorted(settings, key=lambda s: (s["n_failed"], -s["score"] if s["score"] == s["score"] else float("inf")))


def _tuned_variants(runs: pandas.DataFrame, selection_metrics: Mapping[str, str] | None
                    ) -> list[tuple[dict[str, Any], pandas.DataFrame]]:
    """Each task x variant's tuned row (see `tuned`) with its chosen setting's ok seed runs, each given a
    `reported_accuracy` (the accuracy on the split its figures are reported on)."""
    import math

    variants = []
    runs = runs[runs["status"] != "skipped"]
    for task, task_runs in runs.groupby("task", sort=True):
        select, report = _splits(task_runs)
        metric = (selection_metrics or {}).get(task, DEFAULT_SELECTION_METRIC)
        by_bpc = metric == "bpc"
        for key, variant in task_runs.groupby(TUNED_VARIANT, sort=True, dropna=False):
            ranked = _settings_ranked(variant, select, by_bpc)
            best, ok = ranked[0], ranked[0]["rows"]
            bpc = ok[report.loss] / math.log(2)
            variants.append(({
                **dict(zip(TUNED_VARIANT, key)), **best["values"], "settings_tried": len(ranked),
                "selected_on": select.name, "selected_by": metric,
                "selection_figure": (-best["score"] if by_bpc else best["score"]),
                "reported_on": report.name, "accuracy_mean": ok[report.accuracy].mean(),
                "accuracy_std": ok[report.accuracy].std(), "loss_mean": ok[report.loss].mean(),
                "loss_std": ok[report.loss].std(), "bpc_mean": bpc.mean(), "bpc_std": bpc.std(),
                "n_seeds": len(ok), "n_failed": best["n_failed"],
                "note": OPTIMISTIC.get(report.name, "selected on validation, reported on test"),
            }, ok.assign(reported_accuracy=ok[report.accuracy])))
    return variants


def _tuned_table(rows: list[dict[str, Any]]) -> pandas.DataFrame:
    import pandas

    return pandas.DataFrame(rows, columns=[*TUNED_VARIANT, *SETTING_COLUMNS, "settings_tried", "selected_on",
                                           "selected_by", "selection_figure", "reported_on", "accuracy_mean",
                                           "accuracy_std", "loss_mean", "loss_std", "bpc_mean", "bpc_std", "n_seeds",
                                           "n_failed", "note"])


def tuned(runs: pandas.DataFrame, selection_metrics: Mapping[str, str] | None = None) -> pandas.DataFrame:
    """One row per task x variant: the chosen setting, how it was chosen, and its reported figures.
    `selection_metrics` gives each task's `TaskSpec.selection_metric` by name (a task it lacks: accuracy)."""
    return _tuned_table([row for row, _ in _tuned_variants(runs, selection_metrics)])


def _counted(table: pandas.DataFrame) -> pandas.DataFrame:
    """The tuned rows that count for their cell on their task: of several hidden sizes (or devices) of one
    architecture on one task, the one selected on validation (fewest failed seeds, then best selection figure)."""
    higher = table["selection_figure"].where(table["selected_by"] == "accuracy", -table["selection_figure"])
    return (table.assign(_higher=higher).sort_values(["n_failed", "_higher"], ascending=[True, False], kind="stable")
            .drop_duplicates([*SCORED_CELL, "task"]).drop(columns="_higher"))


def scored_seed_runs(runs: pandas.DataFrame, selection_metrics: Mapping[str, str] | None = None) -> pandas.DataFrame:
    """The ok seed runs behind the scoreboard: per cell architecture and task, the counted variant's chosen setting,
    each with its `reported_accuracy`, ordered by cell, task and seed (the input of analysis.aggregate).
    `selection_metrics` as for `tuned`, so the seeds are those of the settings `tuned` chooses."""
    import pandas

    variants = _tuned_variants(runs, selection_metrics)
    if not variants:
        return runs.iloc[0:0].assign(reported_accuracy=pandas.Series(dtype=float))
    counted = _counted(_tuned_table([row for row, _ in variants])).index  # positions in `variants`
    seeds = pandas.concat([variants[position][1] for position in sorted(counted)])
    return seeds.sort_values([*SCORED_CELL, "task", "seed"], kind="stable").reset_index(drop=True)


def scoreboard(table: pandas.DataFrame) -> pandas.DataFrame:
    """Per cell architecture: the mean over tasks of its tuned reported accuracy, with its rank (1 is best)."""
    import pandas

    columns = [*SCORED_CELL, "score", "rank", "n_tasks", "tasks", "optimistic_tasks"]
    if table.empty:
        return pandas.DataFrame(columns=columns)
    chosen = _counted(table)
    rows = []
    for key, cell in chosen.groupby(SCORED_CELL, sort=True):
        scored = cell.dropna(subset=["accuracy_mean"])
        rows.append({**dict(zip(SCORED_CELL, key)), "score": scored["accuracy_mean"].mean(),
                     "n_tasks": len(scored), "tasks": ",".join(sorted(scored["task"])),
                     "optimistic_tasks": ",".join(sorted(scored.loc[scored["reported_on"] != "test", "task"]))})
    board = pandas.DataFrame(rows)
    board["rank"] = board["score"].rank(ascending=False, method="min")
    return board.sort_values(["rank", *SCORED_CELL], kind="stable")[columns].reset_index(drop=True)
