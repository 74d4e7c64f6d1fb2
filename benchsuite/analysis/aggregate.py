"""Aggregate scores over tasks and seeds with their uncertainty, and the paper table of per-task figures.

The definitions are those of Agarwal et al., "Deep reinforcement learning at the edge of the statistical precipice"
(NeurIPS 2021, the rliable library), written here with numpy (scipy.stats alone would add most of a second to
every report):

- **Normalized score** of a run: (score - chance) / (ceiling - chance), with the task's stated chance and ceiling,
  chance 0 and ceiling 1 where the task states none (so a plain accuracy stays as it is). Scores are not clipped
  (rliable does not either): a run below chance scores below 0, and that is worth seeing rather than hiding.
- **Interquartile mean (IQM)** of a cell: the mean of the middle half of its normalized scores pooled over tasks
  and seeds, `scipy.stats.trim_mean(scores, 0.25)` as rliable computes it. It cuts floor(n / 4) scores from each
  end and averages the rest equally (no fractional weights), so with n = 6 the middle 4 count.
- **95% stratified bootstrap interval** of the IQM: each resample draws, within every task separately, as many
  seeds as the task has, with replacement; the interval is the 2.5th and 97.5th percentiles (numpy's linear
  interpolation) of the resampled IQMs. Draws come from `numpy.random.default_rng(seed)`, task by task in sorted
  order, one (resamples x seeds) index matrix per task; every cell starts from the same seed, so its interval does
  not depend on which other cells are in the table. 2,000 resamples by default (rliable uses 50,000): enough for
  two decimals of an interval at a small fraction of the time; the `resamples` argument takes more.
  Seeds alone carry no spread where each task ran one seed: the interval then shrinks to the IQM itself. Resampling
  the tasks too (`resample_tasks`, rliable's task bootstrap: per resample the tasks are drawn first, then each drawn
  task's seeds) measures how much the score owes to the choice of tasks; on the README's
  ladder table (one seed, 16 task rungs) it gives lstm 0.80 [0.45, 0.97] and gru 0.68 [0.30, 0.97].
- **Probability of improvement** P(X > Y): per task, the share of (run of X, run of Y) pairs where X scores higher,
  a tie counting one half (the Mann-Whitney U statistic over n x m), averaged over the tasks both cells ran.
  Its optional interval resamples X's and then Y's seeds within each shared task, in sorted task order.

Input rows are one per cell, task and seed (the runs of each variant's chosen setting, as `bench best` picks them),
with columns `cell`, `task`, `seed`, a score column (`test_accuracy` by default), and optionally `chance` and
`ceiling`. Rows without a score (a seed that failed) are left out.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas

from ..errors import BenchInputError

DEFAULT_RESAMPLES = 2_000
CONFIDENCE = 0.95
QUARTILE_CUT = 0.25  # the interquartile mean drops a quarter of the scores from each end
SCOREBOARD_COLUMNS = ["cell", "iqm", "ci_low", "ci_high", "n_tasks", "n_runs", "overlaps"]
IMPROVEMENT_COLUMNS = ["cell", "other", "probability", "ci_low", "ci_high", "n_tasks", "intervals_overlap"]
LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _checked(rows: pandas.DataFrame, score: str) -> pandas.DataFrame:
    """The rows that have a score, sorted by cell, task and seed, after checking they can be aggregated."""
    missing = [column for column in ("cell", "task", "seed", score) if column not in rows]
    if missing:
        raise BenchInputError(f"rows to aggregate lack the column(s) {', '.join(missing)}; they need cell, task, "
                              f"seed and the score column {score!r}")
    scored = rows[rows[score].notna()].sort_values(["cell", "task", "seed"], kind="stable")
    repeated = scored[scored.duplicated(["cell", "task", "seed"], keep=False)]
    if not repeated.empty:
        first = repeated.iloc[0]
        raise BenchInputError(f"rows to aggregate hold cell {first['cell']!r} on task {first['task']!r} seed "
                              f"{first['seed']!r} more than once; give one row per cell, task and seed (the chosen "
                              "setting's runs)")
    return scored


def _bounds(rows: pandas.DataFrame) -> tuple[pandas.Series, pandas.Series]:
    """Each row's task chance and ceiling (0 and 1 where the task states none), checked to be one per task."""
    bounds = []
    for column, default in (("chance", 0.0), ("ceiling", 1.0)):
        values = rows[column] if column in rows else pandas.Series(np.nan, index=rows.index)
        varying = values.groupby(rows["task"]).nunique(dropna=False)
        if (varying > 1).any():
            raise BenchInputError(f"task {varying[varying > 1].index[0]!r} states more than one {column} in the rows "
                                  f"to aggregate; a task has one {column}")
        bounds.append(values.fillna(default).astype(float))
    chance, ceiling = bounds
    if (ceiling <= chance).any():
        task = rows.loc[ceiling <= chance, "task"].iloc[0]
        raise BenchInputError(f"task {task!r} has a ceiling at or below its chance; normalizing needs ceiling > chance")
    return chance, ceiling


def _normalized(scored: pandas.DataFrame, score: str) -> pandas.Series:
    chance, ceiling = _bounds(scored)
    return (scored[score] - chance) / (ceiling - chance)


def normalized_scores(rows: pandas.DataFrame, score: str = "test_accuracy") -> pandas.Series:
    """Each scored row's score between its task's chance (0) and ceiling (1), unclipped, with the rows' index."""
    return _normalized(_checked(rows, score), score)


def interquartile_mean(scores: Sequence[float] | np.ndarray) -> float:
    """The mean of the middle half of the scores (floor(n / 4) cut from each end)."""
    return float(_interquartile_means_of_rows(np.asarray(scores, dtype=float).reshape(1, -1))[0])


def _check_bootstrap(resamples: int, confidence: float) -> None:
    if resamples < 1:
        raise BenchInputError(f"bootstrap resamples must be at least 1, got {resamples}")
    if not 0 < confidence < 1:
        raise BenchInputError(f"confidence must lie strictly between 0 and 1 (e.g. 0.95), got {confidence}")


def _resampled(rng: np.random.Generator, scores: np.ndarray, resamples: int) -> np.ndarray:
    """`resamples` draws of the scores with replacement, one per row: (resamples, len(scores))."""
    return scores[rng.integers(0, len(scores), size=(resamples, len(scores)))]


def _percentile_interval(statistics: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(statistics, [tail, 100 - tail])
    return float(low), float(high)


def stratified_bootstrap_interval(scores_by_task: Sequence[np.ndarray], *, resample_tasks: bool = False,
                                  resamples: int = DEFAULT_RESAMPLES, confidence: float = CONFIDENCE,
                                  seed: int = 0) -> tuple[float, float]:
    """The percentile interval of the IQM when each task's seeds are resampled on their own (see the module).

    With `resample_tasks`, each resample first draws as many tasks as there are, with replacement, then each drawn
    task's seeds (rliable's task bootstrap): the uncertainty of which tasks were chosen, as well as of the seeds.
    """
    _check_bootstrap(resamples, confidence)
    rng = np.random.default_rng(seed)
    tasks = [np.asarray(task, dtype=float) for task in scores_by_task]
    if not resample_tasks:
        pooled = np.concatenate([_resampled(rng, task, resamples) for task in tasks], axis=1)
        return _percentile_interval(_interquartile_means_of_rows(pooled), confidence)
    counts = np.array([len(task) for task in tasks])
    padded = np.full((len(tasks), counts.max()), np.nan)
    for position, task in enumerate(tasks):
        padded[position, :len(task)] = task
    drawn = rng.integers(0, len(tasks), size=(resamples, len(tasks)))
    drawn_counts = counts[drawn][..., None]
    seeds = rng.integers(0, drawn_counts, size=(*drawn.shape, counts.max()))
    # A drawn task with fewer seeds than the most leaves the rest of its row blank.
    values = np.where(np.arange(counts.max()) < drawn_counts, padded[drawn[..., None], seeds], np.nan)
    return _percentile_interval(_interquartile_means_of_rows(values.reshape(resamples, -1)), confidence)


def _interquartile_means_of_rows(rows: np.ndarray) -> np.ndarray:
    """The IQM of each row's non-blank values (rows may differ in how many they hold): floor(n / 4) cut from each
    end, as scipy.stats.trim_mean(row, 0.25) cuts."""
    ordered = np.sort(rows, axis=1)  # blanks sort last
    held = np.isfinite(ordered).sum(axis=1, keepdims=True)
    cut = np.floor(held * QUARTILE_CUT).astype(int)
    position = np.arange(rows.shape[1])
    middle = (position >= cut) & (position < held - cut)
    return np.where(middle, ordered, 0.0).sum(axis=1) / middle.sum(axis=1)


def _superiority(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Over the last axis of each: the share of pairs where x beats y, ties counting one half."""
    above = x[..., :, None] > y[..., None, :]
    tied = x[..., :, None] == y[..., None, :]
    return (above + 0.5 * tied).mean(axis=(-2, -1))


def probability_of_improvement(x_by_task: Sequence[np.ndarray], y_by_task: Sequence[np.ndarray]) -> float:
    """P(X > Y): per task the chance that a run of X beats a run of Y (ties one half), averaged over the tasks.

    The two sequences hold the same tasks in the same order.
    """
    if not x_by_task:
        return float("nan")
    return float(np.mean([_superiority(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
                          for x, y in zip(x_by_task, y_by_task, strict=True)]))


def improvement_interval(x_by_task: Sequence[np.ndarray], y_by_task: Sequence[np.ndarray], *,
                         resamples: int = DEFAULT_RESAMPLES, confidence: float = CONFIDENCE,
                         seed: int = 0) -> tuple[float, float]:
    """The stratified bootstrap percentile interval of P(X > Y), resampling X's then Y's seeds task by task."""
    _check_bootstrap(resamples, confidence)
    if not x_by_task:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    per_task = []
    for x, y in zip(x_by_task, y_by_task, strict=True):
        x_draws = _resampled(rng, np.asarray(x, dtype=float), resamples)
        per_task.append(_superiority(x_draws, _resampled(rng, np.asarray(y, dtype=float), resamples)))
    return _percentile_interval(np.mean(per_task, axis=0), confidence)


def _scores_by_cell(rows: pandas.DataFrame, score: str) -> dict[str, dict[str, np.ndarray]]:
    """cell -> task -> its normalized scores in seed order, cells and tasks sorted."""
    scored = _checked(rows, score)
    normalized = scored.assign(_normalized=_normalized(scored, score))
    return {cell: {task: runs["_normalized"].to_numpy() for task, runs in group.groupby("task", sort=True)}
            for cell, group in normalized.groupby("cell", sort=True)}


def _overlap(low: float, high: float, other_low: float, other_high: float) -> bool:
    return low <= other_high and other_low <= high


def aggregate_scoreboard(rows: pandas.DataFrame, *, score: str = "test_accuracy", resample_tasks: bool = False,
                         resamples: int = DEFAULT_RESAMPLES, confidence: float = CONFIDENCE,
                         seed: int = 0) -> pandas.DataFrame:
    """Per cell: the IQM of its normalized scores over tasks and seeds, its stratified bootstrap interval (tasks
    resampled too with `resample_tasks`), how many tasks and runs it pools, and the cells whose interval overlaps its
    own (comma-separated); best IQM first."""
    board = []
    for cell, by_task in _scores_by_cell(rows, score).items():
        tasks = list(by_task.values())
        low, high = stratified_bootstrap_interval(tasks, resample_tasks=resample_tasks, resamples=resamples,
                                                  confidence=confidence, seed=seed)
        board.append({"cell": cell, "iqm": interquartile_mean(np.concatenate(tasks)), "ci_low": low, "ci_high": high,
                      "n_tasks": len(tasks), "n_runs": sum(len(task) for task in tasks)})
    for entry in board:
        entry["overlaps"] = ",".join(other["cell"] for other in board if other is not entry and _overlap(
            entry["ci_low"], entry["ci_high"], other["ci_low"], other["ci_high"]))
    table = pandas.DataFrame(board, columns=SCOREBOARD_COLUMNS)
    return table.sort_values(["iqm", "cell"], ascending=[False, True], kind="stable").reset_index(drop=True)


def improvement_table(rows: pandas.DataFrame, board: pandas.DataFrame, *, score: str = "test_accuracy",
                      interval: bool = False, resamples: int = DEFAULT_RESAMPLES, confidence: float = CONFIDENCE,
                      seed: int = 0) -> pandas.DataFrame:
    """One row per pair of cells, the higher on `board` (an `aggregate_scoreboard` of the same rows) first:
    P(cell > other) over the tasks they share, its bootstrap interval when `interval` is set (blank otherwise),
    and whether their IQM intervals on the board overlap."""
    scores = _scores_by_cell(rows, score)
    ranked = board.set_index("cell")
    pairs = []
    for position, cell in enumerate(ranked.index):
        for other in ranked.index[position + 1:]:
            shared = sorted(set(scores[cell]) & set(scores[other]))
            x, y = [scores[cell][task] for task in shared], [scores[other][task] for task in shared]
            low, high = (improvement_interval(x, y, resamples=resamples, confidence=confidence, seed=seed)
                         if interval else (float("nan"), float("nan")))
            pairs.append({"cell": cell, "other": other, "probability": probability_of_improvement(x, y),
                          "ci_low": low, "ci_high": high, "n_tasks": len(shared),
                          "intervals_overlap": bool(_overlap(*ranked.loc[cell, ["ci_low", "ci_high"]],
                                                        *ranked.loc[other, ["ci_low", "ci_high"]]))})
    return pandas.DataFrame(pairs, columns=IMPROVEMENT_COLUMNS)


def latex_escaped(text: str) -> str:
    """Text with LaTeX's special characters escaped (task names such as kv_pairs hold underscores)."""
    return re.sub("|".join(re.escape(special) for special in LATEX_SPECIALS),
                  lambda found: LATEX_SPECIALS[found.group()], text)


def latex_table(rows: pandas.DataFrame, *, score: str = "test_accuracy", decimals: int = 2) -> str:
    """A booktabs tabular: cells as rows, tasks as columns, each entry the mean ± standard deviation of the score
    over seeds (the mean alone for one seed, -- where the cell did not run the task). The best mean of each column,
    compared as printed, is bold, so entries that print the same are bold together."""
    stats = _checked(rows, score).groupby(["cell", "task"], sort=True)[score].agg(["mean", "std"])
    means, stds = stats["mean"].unstack("task"), stats["std"].unstack("task")
    shown = means.round(decimals)
    lines = [rf"\begin{{tabular}}{{l{'c' * len(means.columns)}}}", r"\toprule",
             " & ".join(["cell", *map(latex_escaped, means.columns)]) + r" \\", r"\midrule"]
    for cell in means.index:
        entries = [latex_escaped(cell)]
        for task in means.columns:
            mean, std = means.loc[cell, task], stds.loc[cell, task]
            if np.isnan(mean):
                entries.append("--")
                continue
            entry = f"{mean:.{decimals}f}" + ("" if np.isnan(std) else rf" $\pm$ {std:.{decimals}f}")
            entries.append(rf"\textbf{{{entry}}}" if shown.loc[cell, task] == shown[task].max() else entry)
        lines.append(" & ".join(entries) + r" \\")
    return "\n".join([*lines, r"\bottomrule", r"\end{tabular}"]) + "\n"
