"""Aggregate scores with uncertainty, each checked against a computation written out by hand here: the interquartile
mean, the stratified bootstrap (plain loops over the same random draws), the probability of improvement (pair counts
and scipy's Mann-Whitney U), the scoreboard and pair table built from them, and the LaTeX table (pandas' means)."""
from __future__ import annotations

import math

import numpy as np
import pandas
import pytest
import scipy.stats

from benchsuite.analysis.aggregate import (
    aggregate_scoreboard,
    improvement_interval,
    improvement_table,
    interquartile_mean,
    latex_table,
    normalized_scores,
    probability_of_improvement,
    stratified_bootstrap_interval,
)
from benchsuite.errors import BenchInputError

RESAMPLES = 300  # enough to exercise the loops; the default (2,000) is checked against scipy below


def by_hand_iqm(values: list[float]) -> float:
    """Sorted, a quarter (rounded down) dropped from each end, the rest averaged."""
    ordered = sorted(values)
    cut = len(ordered) // 4
    middle = ordered[cut:len(ordered) - cut]
    return sum(middle) / len(middle)


def by_hand_percentile(values: list[float], percent: float) -> float:
    """Linear interpolation between the two nearest order statistics."""
    ordered = sorted(values)
    position = percent / 100 * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def by_hand_superiority(x: list[float], y: list[float]) -> float:
    wins = 0.0
    for a in x:
        for b in y:
            wins += 1.0 if a > b else 0.5 if a == b else 0.0
    return wins / (len(x) * len(y))


def runs(scores: dict[str, dict[str, list[float]]], **task_columns: dict[str, float]) -> pandas.DataFrame:
    """Rows cell x task x seed from {cell: {task: [score per seed]}}; task_columns add e.g. chance={task: value}."""
    rows = []
    for cell, by_task in scores.items():
        for task, values in by_task.items():
            for seed, value in enumerate(values):
                extra = {column: by_column.get(task) for column, by_column in task_columns.items()}
                rows.append({"task": task, "cell": cell, "seed": seed, "test_accuracy": value, **extra})
    return pandas.DataFrame(rows)


@pytest.mark.parametrize("values, middle", [
    ([7.0, 1.0, 100.0, 3.0, 5.0, 2.0, 6.0, 4.0], [3.0, 4.0, 5.0, 6.0]),  # n = 8: exactly the middle half
    ([9.0, 1.0, 4.0, 2.0, 3.0, 8.0], [2.0, 3.0, 4.0, 8.0]),  # n = 6: one cut from each end, no fractional weights
    ([0.5, 0.1, 0.9, 0.3, 0.7], [0.3, 0.5, 0.7]),  # n = 5: one cut from each end
    ([0.2, 0.4, 0.6], [0.2, 0.4, 0.6]),  # n = 3: nothing cut
])
def test_interquartile_mean_averages_the_middle_half(values: list[float], middle: list[float]) -> None:
    assert interquartile_mean(values) == pytest.approx(sum(middle) / len(middle))
    assert interquartile_mean(values) == pytest.approx(by_hand_iqm(values))


def test_scores_are_normalized_between_chance_and_ceiling_unclipped() -> None:
    rows = runs({"lstm": {"copy": [0.55, 0.9, 0.4], "apple": [0.8, 1.0]}},
                chance={"copy": 0.5}, ceiling={"copy": 0.9})
    normalized = normalized_scores(rows)
    for index, row in rows.iterrows():
        if row["task"] == "copy":
            expected = (row["test_accuracy"] - 0.5) / (0.9 - 0.5)
        else:  # no chance or ceiling stated: the raw accuracy
            expected = row["test_accuracy"]
        assert normalized[index] == pytest.approx(expected)
    assert normalized.min() == pytest.approx(-0.25)  # below chance stays below zero


def test_stratified_bootstrap_matches_a_hand_rolled_resampling_loop() -> None:
    tasks = [[0.9, 0.7, 0.8, 0.95], [0.2, 0.5, 0.3], [0.6, 0.65, 0.1, 0.4, 0.55]]
    rng = np.random.default_rng(7)
    draws = [rng.integers(0, len(task), size=(RESAMPLES, len(task))) for task in tasks]  # task by task
    statistics = []
    for resample in range(RESAMPLES):
        pooled = []
        for task, task_draws in zip(tasks, draws):
            for index in task_draws[resample]:
                pooled.append(task[index])
        statistics.append(by_hand_iqm(pooled))
    low, high = stratified_bootstrap_interval([np.array(task) for task in tasks], resamples=RESAMPLES, seed=7)
    assert low == pytest.approx(by_hand_percentile(statistics, 2.5))
    assert high == pytest.approx(by_hand_percentile(statistics, 97.5))


def test_one_task_interval_agrees_with_scipys_percentile_bootstrap() -> None:
    """With one task, stratifying changes nothing: scipy's own bootstrap of the IQM gives about the same interval."""
    scores = np.random.default_rng(3).uniform(0.3, 0.9, size=24)
    reference = scipy.stats.bootstrap((scores,), lambda sample, axis: scipy.stats.trim_mean(sample, 0.25, axis=axis),
                                      n_resamples=20_000, method="percentile", random_state=np.random.default_rng(4))
    low, high = stratified_bootstrap_interval([scores], resamples=20_000)
    assert low == pytest.approx(reference.confidence_interval.low, abs=0.01)
    assert high == pytest.approx(reference.confidence_interval.high, abs=0.01)


def test_resampling_stays_within_each_task() -> None:
    """Two tasks at 0 and 1, two seeds each: every stratified resample pools two 0s and two 1s (IQM 0.5); resampling
    the pooled runs instead would often draw three of one kind."""
    assert stratified_bootstrap_interval([np.zeros(2), np.ones(2)], resamples=RESAMPLES) == (0.5, 0.5)


def test_probability_of_improvement_counts_winning_pairs_and_matches_mann_whitney() -> None:
    x = [[0.9, 0.8, 0.8, 0.6], [0.3, 0.5, 0.5]]
    y = [[0.8, 0.7, 0.9], [0.5, 0.4, 0.5, 0.2, 0.1]]  # ties in both tasks
    expected = (by_hand_superiority(x[0], y[0]) + by_hand_superiority(x[1], y[1])) / 2
    u_statistics = [scipy.stats.mannwhitneyu(a, b).statistic / (len(a) * len(b)) for a, b in zip(x, y)]
    assert probability_of_improvement(x, y) == pytest.approx(expected)
    assert probability_of_improvement(x, y) == pytest.approx(np.mean(u_statistics))
    assert probability_of_improvement(y, x) == pytest.approx(1 - expected)


def test_improvement_interval_matches_a_hand_rolled_resampling_loop() -> None:
    x = [[0.9, 0.8, 0.6], [0.3, 0.5, 0.5, 0.7]]
    y = [[0.8, 0.7, 0.9, 0.75], [0.5, 0.4, 0.2]]
    rng = np.random.default_rng(11)
    draws = []
    for x_task, y_task in zip(x, y):  # per task: X's draws, then Y's
        draws.append((rng.integers(0, len(x_task), size=(RESAMPLES, len(x_task))),
                      rng.integers(0, len(y_task), size=(RESAMPLES, len(y_task)))))
    statistics = []
    for resample in range(RESAMPLES):
        per_task = []
        for x_task, y_task, (x_draws, y_draws) in zip(x, y, draws):
            per_task.append(by_hand_superiority([x_task[i] for i in x_draws[resample]],
                                                [y_task[i] for i in y_draws[resample]]))
        statistics.append(sum(per_task) / len(per_task))
    low, high = improvement_interval(x, y, resamples=RESAMPLES, seed=11)
    assert low == pytest.approx(by_hand_percentile(statistics, 2.5))
    assert high == pytest.approx(by_hand_percentile(statistics, 97.5))


SCORES = {  # good sits in [0.9, 1], the two mids in [0.4, 0.6] with the same scores: disjoint and equal intervals
    "good": {"apple": [0.95, 1.0, 0.9], "copy": [0.95, 0.97, 0.99]},
    "mid_a": {"apple": [0.4, 0.6, 0.5], "copy": [0.55, 0.45, 0.6]},
    "mid_b": {"apple": [0.4, 0.6, 0.5], "copy": [0.55, 0.45, 0.6]},
    "one_task": {"apple": [0.45, 0.5]},
}


def test_scoreboard_ranks_cells_by_iqm_with_stratified_intervals() -> None:
    rows = runs(SCORES, chance={"copy": 0.5}, ceiling={"copy": 1.0}).sample(frac=1, random_state=0)  # any order
    board = aggregate_scoreboard(rows, resamples=RESAMPLES, seed=5)
    normalize = {"apple": lambda s: s, "copy": lambda s: (s - 0.5) / 0.5}
    expected = {}
    for cell, by_task in SCORES.items():
        tasks = [[normalize[task](s) for s in by_task[task]] for task in sorted(by_task)]
        pooled = [s for task in tasks for s in task]
        expected[cell] = (by_hand_iqm(pooled), *stratified_bootstrap_interval(tasks, resamples=RESAMPLES, seed=5),
                          len(tasks), len(pooled))
    assert list(board["cell"]) == sorted(expected, key=lambda cell: -expected[cell][0])
    for row in board.itertuples():
        assert (row.iqm, row.ci_low, row.ci_high) == pytest.approx(expected[row.cell][:3])
        assert (row.n_tasks, row.n_runs) == expected[row.cell][3:]
        assert row.ci_low <= row.iqm <= row.ci_high
    intervals = {row.cell: (row.ci_low, row.ci_high) for row in board.itertuples()}
    for row in board.itertuples():
        low, high = intervals[row.cell]
        overlapping = {other for other, (other_low, other_high) in intervals.items()
                       if other != row.cell and not (high < other_low or other_high < low)}
        assert set(filter(None, row.overlaps.split(","))) == overlapping
    overlaps = dict(zip(board["cell"], board["overlaps"]))
    assert overlaps["good"] == ""
    assert "mid_b" in overlaps["mid_a"].split(",") and "mid_a" in overlaps["mid_b"].split(",")


def test_improvement_table_compares_each_pair_on_their_shared_tasks() -> None:
    rows = runs(SCORES, chance={"copy": 0.5}, ceiling={"copy": 1.0})
    board = aggregate_scoreboard(rows, resamples=RESAMPLES)
    table = improvement_table(rows, board, interval=True, resamples=RESAMPLES).set_index(["cell", "other"])
    order = list(board["cell"])
    assert len(table) == len(order) * (len(order) - 1) // 2
    for (cell, other), pair in table.iterrows():
        assert order.index(cell) < order.index(other)  # the higher-ranked cell comes first
        shared = sorted(set(SCORES[cell]) & set(SCORES[other]))
        normalize = {"apple": lambda s: s, "copy": lambda s: (s - 0.5) / 0.5}
        by_task = [by_hand_superiority([normalize[t](s) for s in SCORES[cell][t]],
                                       [normalize[t](s) for s in SCORES[other][t]]) for t in shared]
        assert pair["probability"] == pytest.approx(sum(by_task) / len(by_task))
        assert pair["n_tasks"] == len(shared)
        assert pair["ci_low"] <= pair["probability"] <= pair["ci_high"]
        intervals = board.set_index("cell")
        assert pair["intervals_overlap"] == (intervals.loc[cell, "ci_low"] <= intervals.loc[other, "ci_high"]
                                             and intervals.loc[other, "ci_low"] <= intervals.loc[cell, "ci_high"])
    assert table.loc[("good", "mid_a"), "probability"] == 1.0
    assert not table.loc[("good", "mid_a"), "intervals_overlap"]
    assert table.loc[("mid_a", "mid_b"), "probability"] == 0.5
    assert table.loc[("mid_a", "mid_b"), "intervals_overlap"]
    without = improvement_table(rows, board)
    assert without["ci_low"].isna().all() and without["ci_high"].isna().all()


def test_rows_without_a_score_are_left_out() -> None:
    rows = runs({"lstm": {"apple": [0.9, float("nan"), 0.7, 0.8]}})
    board = aggregate_scoreboard(rows, resamples=RESAMPLES)
    assert board.loc[0, "n_runs"] == 3
    assert board.loc[0, "iqm"] == pytest.approx(by_hand_iqm([0.9, 0.7, 0.8]))


@pytest.mark.parametrize("rows, message", [
    (pandas.DataFrame({"task": ["apple"], "cell": ["lstm"], "test_accuracy": [0.5]}), "lack the column.*seed"),
    (runs({"lstm": {"apple": [0.5]}, "gru": {"apple": [0.6]}}).assign(cell="lstm"), "more than once"),
    (runs({"lstm": {"copy": [0.5, 0.6]}}).assign(chance=[0.5, 0.25]), "more than one chance"),
    (runs({"lstm": {"copy": [0.5]}}, chance={"copy": 0.5}, ceiling={"copy": 0.5}), "ceiling at or below its chance"),
])
def test_bad_rows_are_refused_with_one_clear_message(rows: pandas.DataFrame, message: str) -> None:
    with pytest.raises(BenchInputError, match=message):
        aggregate_scoreboard(rows, resamples=RESAMPLES)


@pytest.mark.parametrize("settings, message", [({"resamples": 0}, "at least 1"), ({"confidence": 1.5}, "between 0")])
def test_bad_bootstrap_settings_are_refused(settings: dict[str, float], message: str) -> None:
    with pytest.raises(BenchInputError, match=message):
        stratified_bootstrap_interval([np.ones(3)], **settings)


def test_latex_table_shows_mean_and_std_with_the_best_of_each_task_bold() -> None:
    scores = {"gru": {"apple": [0.9, 1.0, 0.95], "kv_pairs": [0.42, 0.38, 0.4]},
              "lstm": {"apple": [0.8, 0.86, 0.83], "kv_pairs": [0.61, 0.55, 0.58]}}
    rows = runs(scores)
    stats = rows.groupby(["cell", "task"])["test_accuracy"].agg(["mean", "std"])

    def entry(cell: str, task: str) -> str:
        return f"{stats.loc[(cell, task), 'mean']:.2f} $\\pm$ {stats.loc[(cell, task), 'std']:.2f}"

    expected = (
        "\\begin{tabular}{lcc}\n"
        "\\toprule\n"
        "cell & apple & kv\\_pairs \\\\\n"
        "\\midrule\n"
        f"gru & \\textbf{{{entry('gru', 'apple')}}} & {entry('gru', 'kv_pairs')} \\\\\n"
        f"lstm & {entry('lstm', 'apple')} & \\textbf{{{entry('lstm', 'kv_pairs')}}} \\\\\n"
        "\\bottomrule\n"
        "\\end{tabular}\n")
    assert latex_table(rows) == expected
    assert entry("gru", "apple") == "0.95 $\\pm$ 0.05"  # the example's numbers, worked out on paper


def test_latex_table_bolds_printed_ties_and_marks_single_seeds_and_gaps() -> None:
    rows = runs({"a": {"apple": [0.901], "copy": [0.5, 0.7]}, "b": {"apple": [0.899]}})
    lines = latex_table(rows).splitlines()
    assert lines[4] == r"a & \textbf{0.90} & \textbf{0.60 $\pm$ 0.14} \\"
    assert lines[5] == r"b & \textbf{0.90} & -- \\"


def test_task_resampling_matches_a_hand_rolled_two_stage_loop() -> None:
    tasks = [[0.9, 0.7], [0.2, 0.5, 0.3], [0.6], [0.65, 0.1, 0.4, 0.55]]
    rng = np.random.default_rng(13)
    drawn = rng.integers(0, len(tasks), size=(RESAMPLES, len(tasks)))  # the tasks first, then seeds for each draw
    drawn_counts = np.array([len(task) for task in tasks])[drawn][..., None]
    seeds = rng.integers(0, drawn_counts, size=(RESAMPLES, len(tasks), max(len(task) for task in tasks)))
    statistics = []
    for resample in range(RESAMPLES):
        pooled = []
        for position, task in enumerate(drawn[resample]):
            for index in seeds[resample][position][:len(tasks[task])]:
                pooled.append(tasks[task][index])
        statistics.append(by_hand_iqm(pooled))
    low, high = stratified_bootstrap_interval([np.array(task) for task in tasks], resample_tasks=True,
                                              resamples=RESAMPLES, seed=13)
    assert low == pytest.approx(by_hand_percentile(statistics, 2.5))
    assert high == pytest.approx(by_hand_percentile(statistics, 97.5))


# The README's ladder table, lstm and gru: (test accuracy, chance) at each task's baseline and hardest rung, seed 0.
LADDER = {"lstm": [(0.913, 0.27), (0.952, 0.27), (0.881, 0.14), (0.191, 0.14), (1.0, 0.14), (0.130, 0.15),
                   (1.0, 0.50), (0.978, 0.50), (1.0, 0.21), (0.298, 0.11), (1.0, 0.50), (0.517, 0.51), (1.0, 0.64),
                   (0.750, 0.50), (0.954, 0.50), (0.690, 0.51)],
          "gru": [(0.997, 0.27), (0.956, 0.27), (0.995, 0.14), (0.959, 0.14), (1.0, 0.14), (0.128, 0.15), (1.0, 0.50),
                  (0.639, 0.50), (0.206, 0.21), (0.195, 0.11), (1.0, 0.50), (0.605, 0.51), (1.0, 0.64), (0.610, 0.50),
                  (0.868, 0.50), (0.651, 0.51)]}


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_one_seed_per_task_needs_task_resampling_which_scipy_agrees_with(cell: str) -> None:
    """With one seed per task, resampling seeds cannot move the IQM; resampling tasks is then scipy's plain bootstrap
    over the tasks' scores."""
    normalized = np.array([(accuracy - chance) / (1 - chance) for accuracy, chance in LADDER[cell]])
    by_task = [np.array([score]) for score in normalized]
    iqm = by_hand_iqm(list(normalized))
    assert stratified_bootstrap_interval(by_task) == pytest.approx((iqm, iqm))
    reference = scipy.stats.bootstrap((normalized,), lambda s, axis: scipy.stats.trim_mean(s, 0.25, axis=axis),
                                      n_resamples=20_000, method="percentile", random_state=np.random.default_rng(1))
    low, high = stratified_bootstrap_interval(by_task, resample_tasks=True, resamples=20_000)
    assert low == pytest.approx(reference.confidence_interval.low, abs=0.02)
    assert high == pytest.approx(reference.confidence_interval.high, abs=0.02)


def test_on_the_ladder_table_lstm_and_gru_cannot_be_told_apart_once_tasks_are_resampled() -> None:
    # Zero-padded, so the tasks sort (as the scoreboard takes them) in the order by_task lists them below.
    rows = pandas.DataFrame([{"task": f"rung-{rung:02d}", "cell": cell, "seed": 0, "test_accuracy": accuracy,
                              "chance": chance} for cell, figures in LADDER.items()
                             for rung, (accuracy, chance) in enumerate(figures)])
    seeds_only = aggregate_scoreboard(rows).set_index("cell")
    assert (seeds_only["ci_low"] == seeds_only["iqm"]).all() and (seeds_only["ci_high"] == seeds_only["iqm"]).all()
    assert seeds_only.loc["lstm", "overlaps"] == ""
    board = aggregate_scoreboard(rows, resample_tasks=True).set_index("cell")
    for cell, figures in LADDER.items():
        by_task = [np.array([(accuracy - chance) / (1 - chance)]) for accuracy, chance in figures]
        expected = stratified_bootstrap_interval(by_task, resample_tasks=True)
        assert (board.loc[cell, "ci_low"], board.loc[cell, "ci_high"]) == pytest.approx(expected)
    assert board.loc["lstm", "overlaps"] == "gru" and board.loc["gru", "overlaps"] == "lstm"
