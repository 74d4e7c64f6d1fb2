"""Hyperparameter grids: list-valued --lr/--hidden/--batch-size/--epochs make the product of their settings, and each
setting stays a variant of its own in runs.csv, summary.csv, resume, `bench compare` and the report."""
from __future__ import annotations

import itertools
import json

import pandas
import pytest

import benchsuite
from benchsuite.planning.options import RunOptions
from benchsuite.report.markdown import write_report
from benchsuite.report.plots import step_quartiles
from benchsuite.results.load import load_runs, load_samples
from benchsuite.results.schema import SETTING_COLUMNS
from helpers.cli import invoke
from helpers.runs import only_run_dir

LRS, HIDDEN, SEEDS = (0.1, 0.03), (4, 6), (0, 1)


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid")
    table = benchsuite.run(tasks="apple", cells="rnn", lr="0.1,0.03", hidden="4,6", epochs="2", seeds="0,1",
                           threads=1, out=str(out))
    return only_run_dir(out), table


def test_rows_are_the_grid_product_times_seeds(grid_run):
    run_dir, table = grid_run
    assert len(table) == len(LRS) * len(HIDDEN) * len(SEEDS)
    assert set(zip(table["lr"], table["hidden_size"], table["seed"])) == set(itertools.product(LRS, HIDDEN, SEEDS))
    assert (table["status"] == "ok").all() and (table["max_epochs"] == 2).all()


def test_summary_keeps_each_lr_apart(grid_run):
    run_dir, table = grid_run
    summary = pandas.read_csv(run_dir / "summary.csv")
    assert len(summary) == len(LRS) * len(HIDDEN)
    assert set(summary["n_seeds"]) == {len(SEEDS)}
    for (lr, hidden), group in table.groupby(["lr", "hidden_size"]):  # each summary row averages its own seeds
        (row,) = summary[(summary["lr"] == lr) & (summary["hidden_size"] == hidden)].to_dict("records")
        assert row["final_loss_mean"] == pytest.approx(group["final_loss"].mean())


def test_compare_matches_variants_by_lr(grid_run):
    run_dir, _ = grid_run
    result = invoke("compare", run_dir, run_dir, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    compared = {(m["lr"], m["hidden_size"]) for m in report["metrics"] if m["metric"] == "final_loss"}
    assert compared == set(itertools.product(LRS, HIDDEN))  # four variants, not two pooled over lrs


def test_report_table_and_plot_labels_name_each_lr(grid_run):
    run_dir, _ = grid_run
    write_report(run_dir)
    text = (run_dir / "summary.md").read_text()
    for lr in LRS:
        for hidden in HIDDEN:
            assert f"| rnn 1L uni h{hidden} lr{lr:g} |" in text  # only the settings that vary name variants
    assert "every variant trained with batch_size 1, max_epochs 2" in text
    labels = [name for name, *_ in step_quartiles(load_runs(run_dir / "runs.csv"),
                                                  load_samples(run_dir / "samples.csv"), "apple")]
    assert len(labels) == len(set(labels)) == len(LRS) * len(HIDDEN)


def test_resume_with_a_new_lr_runs_only_its_rows(grid_run, tmp_path):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(grid_run[0], run_dir)
    before = load_runs(run_dir / "runs.csv")  # typed as the run result is, so text settings merge
    after = benchsuite.run(resume=str(run_dir), lr="0.1,0.03,0.01")
    assert len(after) == len(before) + len(HIDDEN) * len(SEEDS)
    kept = after.merge(before, on=[*before.columns[:8], *SETTING_COLUMNS], suffixes=("", "_before"))
    assert len(kept) == len(before) and (kept["train_seconds"] == kept["train_seconds_before"]).all()
    assert sorted(after.loc[after["lr"] == 0.01, "hidden_size"]) == sorted(list(HIDDEN) * len(SEEDS))
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["resumes"][-1]["planned_rows"] == len(HIDDEN) * len(SEEDS)


def test_resume_with_a_new_clip_runs_only_its_rows(grid_run, tmp_path):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(grid_run[0], run_dir)
    before = pandas.read_csv(run_dir / "runs.csv")
    after = benchsuite.run(resume=str(run_dir), clip="none,1")  # the run's rows trained without clipping
    assert len(after) == 2 * len(before)
    kept = after[after["clip"].isna()].merge(before, on=["lr", "hidden_size", "seed"], suffixes=("", "_before"))
    assert len(kept) == len(before) and (kept["train_seconds"] == kept["train_seconds_before"]).all()
    assert (after.loc[after["clip"] == 1, "status"] == "ok").sum() == len(before)


def test_clip_and_weight_decay_grids_train_each_setting_as_a_run_of_its_own(tmp_path):
    """--clip none,0.05 x --weight-decay 0,0.5 makes four variants; each row matches the same setting run alone,
    so the grid hands every setting to the optimizer, and 'none' in a grid is no clipping."""
    common = dict(tasks="apple", cells="rnn", epochs="3", threads=1)
    grid = benchsuite.run(**common, clip="none,0.05", weight_decay="0,0.5", out=str(tmp_path / "grid"))
    assert len(grid) == 4 and (grid["status"] == "ok").all()
    assert len(pandas.read_csv(only_run_dir(tmp_path / "grid") / "summary.csv")) == 4  # four variants, not one
    for index, (clip, decay) in enumerate(itertools.product((None, 0.05), (0.0, 0.5))):
        (alone,) = benchsuite.run(**common, clip=clip, weight_decay=decay, out=str(tmp_path / str(index))
                                  ).to_dict("records")
        same = grid[(grid["clip"].isna() if clip is None else grid["clip"] == clip) & (grid["weight_decay"] == decay)]
        assert same["final_loss"].tolist() == [alone["final_loss"]]
    assert grid["final_loss"].nunique() == 4  # each setting changed the training


@pytest.mark.parametrize("value, expected", [
    ("3e-3,1e-2", (3e-3, 1e-2)), ([0.1, 0.2], (0.1, 0.2)), (0.5, (0.5,)), ("0.1,0.1", (0.1,)),
])
def test_lr_grid_parses(value, expected):
    assert RunOptions.parse(tasks="apple", lr=value).lr == expected


def test_batch_size_full_and_a_larger_size_are_one_setting():
    from benchsuite.planning.grid import hyperparameter_grid

    options = RunOptions.parse(tasks="x", batch_size="full,64,8")
    assert [hyper["batch_size"] for hyper in hyperparameter_grid(options, {}, train_rows=20)] == [20, 8]
