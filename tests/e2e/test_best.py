"""`bench best`: each variant's setting chosen on validation and reported on test, checked against pandas by hand;
and the selection rules (failures, ties, tasks without a test split, bpc for text) on tables built for them."""
from __future__ import annotations

import io
import json
import math
import re

import numpy
import pandas
import pytest

import benchsuite
from benchsuite import TaskSpec
from benchsuite.results.schema import RUN_COLUMNS
from benchsuite.results.tuning import scoreboard, scored_seed_runs, tuned
from helpers.cli import invoke
from helpers.runs import only_run_dir

LRS = (3e-3, 1e-2, 3e-2)


@pytest.fixture(scope="module")
def delay_run(tmp_path_factory):
    """A small real sweep: delay with gap 30, three lrs, three seeds, three cells."""
    out = tmp_path_factory.mktemp("best")
    benchsuite.run(tasks="delay", cells="rnn,lstm,gru", lr=",".join(map(str, LRS)), seeds="0,1,2", epochs=3,
                   hidden=8, task_opts=["delay.gap=30", "delay.samples=128"], threads=1, out=str(out))
    return only_run_dir(out)


def best(run_dir, fmt: str) -> str:
    result = invoke("best", run_dir, "--format", fmt)
    assert result.exit_code == 0, result.output
    return result.stdout


def chosen_by_hand(runs: pandas.DataFrame) -> dict[str, dict]:
    """Per cell, by pandas alone: the lr with the fewest failed seeds and then the best mean validation accuracy,
    that lr's mean validation accuracy, and its ok seeds' test rows."""
    chosen = {}
    for cell, rows in runs.groupby("cell"):
        ok = rows[rows["status"] == "ok"]
        per_lr = pandas.DataFrame({"failed": (rows["status"] != "ok").groupby(rows["lr"]).sum(),
                                   "valid": ok.groupby("lr")["valid_accuracy"].mean()})
        lr = per_lr.sort_values(["failed", "valid"], ascending=[True, False], kind="stable").index[0]
        chosen[cell] = {"lr": lr, "valid": per_lr.loc[lr, "valid"], "test": ok[ok["lr"] == lr]}
    return chosen


def test_best_lr_and_its_test_figures_match_an_independent_computation(delay_run):
    runs = pandas.read_csv(delay_run / "runs.csv")
    assert runs["test_accuracy"].notna().all() and len(runs) == len(LRS) * 3 * 3
    reported = {row["cell"]: row for row in json.loads(best(delay_run, "json"))["tuned"]}
    for cell, expected in chosen_by_hand(runs).items():
        row, test = reported[cell], expected["test"]
        assert row["lr"] == expected["lr"] and row["reported_on"] == "test" and row["selected_on"] == "valid"
        assert row["accuracy_mean"] == pytest.approx(test["test_accuracy"].mean()) and row["n_seeds"] == len(test)
        assert row["accuracy_std"] == pytest.approx(test["test_accuracy"].std())
        assert row["selection_figure"] == pytest.approx(expected["valid"])
        assert row["loss_mean"] == pytest.approx(test["test_loss"].mean())


def test_best_formats_and_the_summary_md_section(delay_run):
    text = best(delay_run, "md")
    assert "## Tuned" in text and "### Scoreboard" in text
    assert text.count("| test |") == 3 and "valid (optimistic)" not in text
    # One task: each cell's score is its tuned test accuracy, ranked by pandas (1 is best, ties share the lower rank).
    scores = pandas.Series({cell: expected["test"]["test_accuracy"].mean()
                            for cell, expected in chosen_by_hand(pandas.read_csv(delay_run / "runs.csv")).items()})
    ranks = scores.rank(ascending=False, method="min")
    table = pandas.read_csv(io.StringIO(best(delay_run, "csv"))).set_index("cell")
    assert sorted(table.index) == sorted(scores.index)
    assert table["rank"].to_dict() == ranks.to_dict()
    board = json.loads(best(delay_run, "json"))["scoreboard"]
    assert [(row["cell"], row["rank"]) for row in board] == sorted(ranks.items(), key=lambda item: (item[1], item[0]))
    assert {row["cell"]: row["score"] for row in board} == pytest.approx(scores.to_dict())


def _runs(rows: list[dict]) -> pandas.DataFrame:
    """A runs table with every column, filled in from `rows` (the rest blank) and typed as load_runs types it."""
    base = {"task": "t", "cell": "c", "backend": "torch", "num_layers": 1, "bidirectional": False, "hidden_size": 8,
            "device": "cpu", "status": "ok", "batch_size": 4, "max_epochs": 2}
    table = pandas.DataFrame([{**base, **row} for row in rows])
    for column in RUN_COLUMNS:
        if column not in table:
            table[column] = numpy.nan
    return table


def test_a_failed_seed_is_a_failure_of_its_setting_not_a_missing_value():
    runs = _runs([
        {"lr": 0.1, "seed": 0, "valid_accuracy": 0.99, "test_accuracy": 0.98},
        {"lr": 0.1, "seed": 1, "status": "diverged"},
        {"lr": 0.01, "seed": 0, "valid_accuracy": 0.6, "test_accuracy": 0.5},
        {"lr": 0.01, "seed": 1, "valid_accuracy": 0.7, "test_accuracy": 0.7},
    ])
    (row,) = tuned(runs).to_dict("records")
    assert row["lr"] == 0.01 and row["n_failed"] == 0 and row["accuracy_mean"] == pytest.approx(0.6)


def test_ties_go_to_the_smaller_setting_and_untested_tasks_are_marked_optimistic():
    runs = _runs([{"lr": lr, "seed": 0, "valid_accuracy": 0.8, "accuracy": 0.9} for lr in (0.3, 0.1)])
    (row,) = tuned(runs).to_dict("records")
    assert row["lr"] == 0.1 and row["reported_on"] == "valid" and "optimistic" in row["note"]
    assert row["accuracy_mean"] == 0.8


def _bpc_or_accuracy(task: str) -> list[dict]:
    """Two settings of one variant on `task`: lr 0.1 has the lower validation loss, lr 0.01 the higher accuracy."""
    return [{"task": task, "lr": 0.1, "seed": 0, "valid_accuracy": 0.5, "valid_loss": 1.0, "test_loss": 1.1,
             "test_accuracy": 0.5},
            {"task": task, "lr": 0.01, "seed": 0, "valid_accuracy": 0.6, "valid_loss": 1.2, "test_loss": 1.3,
             "test_accuracy": 0.6}]


def test_a_task_selected_by_bits_per_character():
    (row,) = tuned(_runs(_bpc_or_accuracy("lm")), {"lm": "bpc"}).to_dict("records")
    assert row["lr"] == 0.1 and row["selected_by"] == "bpc"
    assert row["selection_figure"] == pytest.approx(1.0 / math.log(2))
    assert row["bpc_mean"] == pytest.approx(1.1 / math.log(2))


def test_the_aggregates_seed_runs_are_those_of_the_setting_each_tasks_metric_selects():
    """lr 0.1 wins on bits per character, lr 0.01 on accuracy: the seeds behind the aggregate follow the metric."""
    runs = _runs(_bpc_or_accuracy("lm"))
    by_bpc = scored_seed_runs(runs, {"lm": "bpc"})
    assert list(by_bpc["lr"]) == [0.1] and list(by_bpc["reported_accuracy"]) == [0.5]
    by_accuracy = scored_seed_runs(runs)
    assert list(by_accuracy["lr"]) == [0.01] and list(by_accuracy["reported_accuracy"]) == [0.6]


def test_bench_best_selects_each_task_by_its_specs_metric(tmp_path):
    """text (built-in) and lm (a task of the --plugins-dir given) say bpc; a task no loaded plugin has is selected by
    accuracy, with a note; the folder the run's meta.json names is never loaded by itself."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "lm_tasks.py").write_text(
        "from benchsuite import TaskSpec, hookimpl\n\n"
        "@hookimpl\ndef register_tasks(register):\n"
        "    register(TaskSpec('lm', lambda: None, selection_metric='bpc'))\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    rows = [{**row, "schema_version": 1} for task in ("text", "lm", "gone") for row in _bpc_or_accuracy(task)]
    _runs(rows).to_csv(run_dir / "runs.csv", index=False)
    (run_dir / "meta.json").write_text(json.dumps({"options": {"plugins_dir": str(plugins)}}))
    def chosen(*options: object) -> tuple[dict, str]:
        result = invoke("best", run_dir, "--format", "json", *options)
        assert result.exit_code == 0, result.output
        return {row["task"]: (row["selected_by"], row["lr"]) for row in json.loads(result.stdout)["tuned"]}, \
            result.stderr

    by_task, note = chosen("--plugins-dir", plugins)
    assert by_task == {"text": ("bpc", 0.1), "lm": ("bpc", 0.1), "gone": ("accuracy", 0.01)}
    assert "task(s) gone," in note and "lm" not in note
    by_task, note = chosen()
    assert by_task == {"text": ("bpc", 0.1), "lm": ("accuracy", 0.01), "gone": ("accuracy", 0.01)}
    assert "task(s) gone, lm, so they are selected by accuracy" in note


def test_a_task_spec_refuses_an_unknown_selection_metric():
    with pytest.raises(ValueError, match="task 'lm': selection_metric must be one of accuracy, bpc, got 'loss'"):
        TaskSpec("lm", lambda: None, selection_metric="loss")


def test_the_scoreboard_averages_tasks_and_ranks_cells():
    runs = _runs([{"task": task, "cell": cell, "lr": 0.1, "seed": 0, "valid_accuracy": acc, "test_accuracy": acc}
                  for task, cell, acc in (("a", "x", 0.9), ("b", "x", 0.5), ("a", "y", 0.6), ("b", "y", 0.6))])
    board = scoreboard(tuned(runs)).to_dict("records")
    assert [(row["cell"], row["score"], row["rank"]) for row in board] == [("x", pytest.approx(0.7), 1),
                                                                          ("y", pytest.approx(0.6), 2)]


def test_a_weight_decay_and_clip_grid_is_tuned_like_lr(tmp_path):
    """Clipping every update to a norm of 0.001 holds gru back on delay: no clipping wins on validation (an exact
    tie between weight decays goes to the smaller), and the tables show no clipping as '-'."""
    benchsuite.run(tasks="delay", cells="gru", clip="none,0.001", weight_decay="0,0.01", seeds="0", epochs=10,
                   hidden=16, task_opts=["delay.gap=5", "delay.samples=256"], threads=1, out=str(tmp_path))
    runs = pandas.read_csv(only_run_dir(tmp_path) / "runs.csv")
    top = runs[runs["valid_accuracy"] == runs["valid_accuracy"].max()]
    expected = top.sort_values("weight_decay").iloc[0]
    assert math.isnan(expected["clip"])  # the premise: unclipped training did better
    (row,) = pandas.read_csv(io.StringIO(best(only_run_dir(tmp_path), "csv"))).to_dict("records")
    assert row["settings_tried"] == 4 and math.isnan(row["clip"]) and row["weight_decay"] == expected["weight_decay"]
    assert row["reported_on"] == "test" and row["accuracy_mean"] == pytest.approx(expected["test_accuracy"])
    (line,) = [line for line in best(only_run_dir(tmp_path), "text").splitlines() if line.strip().startswith("delay")]
    assert line.split()[6] == "-"  # delay, gru 1L uni h16, cpu, then clip (of the settings, those that vary)


def hand_interval(scores: numpy.ndarray, resamples: int = 2_000) -> tuple[float, float]:
    """The 95% percentile interval of the IQM over seed resamples of one task, drawn as the documented scheme draws
    them (numpy's default_rng(0), one resamples x seeds index matrix), the IQM taken by sorting and slicing."""
    draws = numpy.sort(scores[numpy.random.default_rng(0).integers(0, len(scores), (resamples, len(scores)))], axis=1)
    cut = len(scores) // 4
    iqms = draws[:, cut:len(scores) - cut].mean(axis=1)
    return tuple(numpy.percentile(iqms, [2.5, 97.5]))


def test_aggregate_scores_match_a_computation_by_hand(delay_run):
    runs = pandas.read_csv(delay_run / "runs.csv")
    chance, ceiling = runs["chance"].fillna(0).iloc[0], runs["ceiling"].fillna(1).iloc[0]
    normalized = {f"{cell} 1L uni": (expected["test"].sort_values("seed")["test_accuracy"].to_numpy() - chance)
                  / (ceiling - chance) for cell, expected in chosen_by_hand(runs).items()}  # in seed order
    report = json.loads(best(delay_run, "json"))
    board = {row["cell"]: row for row in report["aggregate"]}
    assert set(board) == set(normalized)
    intervals = {}
    for cell, scores in normalized.items():
        intervals[cell] = hand_interval(scores)
        cut = len(scores) // 4
        assert board[cell]["iqm"] == pytest.approx(numpy.sort(scores)[cut:len(scores) - cut].mean())
        assert (board[cell]["ci_low"], board[cell]["ci_high"]) == pytest.approx(intervals[cell])
        assert board[cell]["n_runs"] == 3 and board[cell]["n_tasks"] == 1 and not board[cell]["tasks_resampled"]
    text = best(delay_run, "text")
    for cell, (low, high) in intervals.items():
        overlapping = sorted(other for other, (other_low, other_high) in intervals.items()
                             if other != cell and low <= other_high and other_low <= high)
        section = text.split("aggregate:")[1].split("probability")[0]
        (line,) = [line for line in section.splitlines() if line.startswith(f"  {cell}  ")]
        assert f"{board[cell]['iqm']:.3f}  [{low:.3f}, {high:.3f}]" in line
        assert line.split("  ")[-1].strip() == (", ".join(overlapping) or "none")
    # P(row beats column): the share of (row seed, column seed) pairs where the row's test accuracy is higher.
    matrix = text.split("probability of improvement:")[1].splitlines()
    columns = [name for name in re.split(r"\s{2,}", matrix[1].strip())[1:]]
    for line in matrix[2:2 + len(columns)]:
        row_cell, *entries = re.split(r"\s{2,}", line.strip())
        for other, entry in zip(columns, entries):
            x, y = normalized[row_cell], normalized[other]
            expected = "-" if other == row_cell else f"{((x[:, None] > y) + 0.5 * (x[:, None] == y)).mean():.3f}"
            assert entry == expected


def test_one_seed_per_task_resamples_the_tasks_too(tmp_path):
    rows = [{"task": task, "cell": cell, "lr": 0.1, "seed": 0, "valid_accuracy": acc, "test_accuracy": acc}
            for task, cell, acc in (("a", "x", 0.9), ("b", "x", 0.5), ("c", "x", 0.7), ("a", "y", 0.6),
                                    ("b", "y", 0.6), ("c", "y", 0.4))]
    _runs(rows).to_csv(tmp_path / "runs.csv", index=False)
    board = {row["cell"]: row for row in json.loads(best(tmp_path, "json"))["aggregate"]}
    for cell in ("x", "y"):
        scores = numpy.array([row["test_accuracy"] for row in rows if row["cell"] == cell])
        # Seeds alone cannot vary: the interval comes from drawing the three tasks (each one seed) with replacement.
        drawn = numpy.sort(scores[numpy.random.default_rng(0).integers(0, 3, (2_000, 3))], axis=1)
        low, high = numpy.percentile(drawn.mean(axis=1), [2.5, 97.5])
        assert board[f"{cell} 1L uni"]["tasks_resampled"]
        assert (board[f"{cell} 1L uni"]["ci_low"], board[f"{cell} 1L uni"]["ci_high"]) == pytest.approx((low, high))
        assert low < high


def test_latex_table_bolds_each_tasks_best_mean_with_its_std(delay_run):
    runs = pandas.read_csv(delay_run / "runs.csv")
    stats = {f"{cell} 1L uni": (expected["test"]["test_accuracy"].mean(), expected["test"]["test_accuracy"].std())
             for cell, expected in chosen_by_hand(runs).items()}
    lines = best(delay_run, "latex").splitlines()
    assert lines[0] == r"\begin{tabular}{lc}" and lines[1] == r"\toprule" and lines[2] == r"cell & delay \\"
    assert lines[-2:] == [r"\bottomrule", r"\end{tabular}"]
    best_shown = max(f"{mean:.2f}" for mean, _ in stats.values())
    body = {line.split(" & ")[0]: line.split(" & ")[1].removesuffix(r" \\") for line in lines[4:-2]}
    assert set(body) == set(stats)
    for cell, (mean, std) in stats.items():
        entry = rf"{mean:.2f} $\pm$ {std:.2f}"
        assert body[cell] == (rf"\textbf{{{entry}}}" if f"{mean:.2f}" == best_shown else entry)
