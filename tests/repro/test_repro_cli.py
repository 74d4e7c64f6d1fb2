"""`bench repro`: the list, the printed grid (its size recomputed from the TOML), bad names and scales, and a
smoke-scale run whose report is recomputed with pandas from runs.csv and slices.csv."""
from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pandas
import pytest

import benchsuite.repro
import benchsuite.sweep
from benchsuite.errors import RunInterrupted
from helpers.cli import assert_bad_input
from helpers.runs import only_run_dir

PROTOCOLS = Path(benchsuite.repro.__file__).parent / "protocols"
FILES = sorted(PROTOCOLS.glob("*.toml"))
TASK_OPTION_KEYS = {"task_options", "train_lengths", "test_lengths", "test_per_length"}


def read(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_list_names_every_shipped_reproduction_with_its_scales(bench):
    result = bench("repro", "list")
    assert result.exit_code == 0
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert set(lines) == {path.stem for path in FILES}
    for path in FILES:
        assert all(scale in lines[path.stem] for scale in read(path)["protocol"])


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_paper_scale_prints_the_full_grid_and_its_size(bench, path):
    paper = read(path)["protocol"]["paper"]
    # the grid: every list-valued protocol key (task-option keys aside) times tasks, cells, lrs and seeds
    size = math.prod(len(value) for key, value in paper.items()
                     if isinstance(value, list) and key not in TASK_OPTION_KEYS)
    result = bench("repro", "run", path.stem, "--scale", "paper", "--print")
    assert result.exit_code == 0, result.output
    assert f"grid: {size} runs" in result.output
    assert "--cells " + ",".join(paper["cells"]) in result.output


def test_unknown_name_and_scale_are_bad_input(bench):
    assert_bad_input(bench("repro", "run", "nosuch", "--print"), "unknown reproduction 'nosuch'", "deletang")
    assert_bad_input(bench("repro", "run", "deletang", "--scale", "huge"), "no scale 'huge'", "cpu")
    assert_bad_input(bench("repro", "report", "/nonexistent-run"), "repro.json")


@pytest.mark.slow
def test_smoke_run_writes_the_report_the_paper_way(bench, tmp_path):
    result = bench("repro", "run", "deletang", "--scale", "smoke", "--out", tmp_path, "--quiet")
    assert result.exit_code == 0, result.output
    run_dir = only_run_dir(tmp_path)
    assert (run_dir / "repro.md").is_file()
    # the ordinary run's report too: summary.md holds one table per task the protocol ran
    summary = (run_dir / "summary.md").read_text(encoding="utf-8")
    report = pandas.read_csv(run_dir / "repro.csv")
    repro = read(PROTOCOLS / "deletang.toml")
    smoke = repro["protocol"]["smoke"]
    assert all(f"\n## {task}\n" in summary for task in smoke["tasks"])
    assert len(report) == sum(len(claim["tasks"]) * len(claim["cells"]) for claim in repro["claims"])
    assert set(report["verdict"]) <= {"reproduced", "not reproduced", "inconclusive"}
    ran = report["task"].isin(smoke["tasks"]) & report["cell"].isin(smoke["cells"])
    assert ran.any() and (report.loc[~ran, "verdict"] == "inconclusive").all()
    # ours, recomputed: per run the mean per-length test accuracy beyond length 40, then the max over seeds x lrs
    slices = pandas.read_csv(run_dir / "slices.csv")
    beyond = slices[(slices["split"] == "test") & (slices["slice_name"] == "length") & (slices["slice"] > 40)]
    per_run = beyond.groupby(["task", "cell", "lr", "seed"])["value"].mean()
    runs = pandas.read_csv(run_dir / "runs.csv")
    assert (runs["status"] == "ok").all() and set(runs["steps"]) == {smoke["steps"]}
    for row in report[ran].itertuples():
        mine = per_run.loc[(row.task, row.cell)]
        assert len(mine) == len(smoke["seeds"]) == row.runs
        assert row.ours == pytest.approx(mine.max())
        assert row.ours_mean == pytest.approx(mine.mean()) and row.ours_std == pytest.approx(mine.std())
        fitted = runs[(runs["task"] == row.task) & (runs["cell"] == row.cell)]["accuracy"].max()
        assert row.ours_train == pytest.approx(fitted)
        beats = row.ours >= row.threshold if row.op == ">=" else row.ours < row.threshold
        if row.op == "<" and fitted < row.threshold:
            assert row.verdict == "inconclusive" and "not fitted" in row.why
        elif abs(row.ours - row.threshold) >= repro["verdict"]["inconclusive_within"]:
            assert row.verdict == ("reproduced" if beats else "not reproduced")
    # the report command writes the same table again from the folder alone
    (run_dir / "repro.csv").unlink()
    assert bench("repro", "report", run_dir).exit_code == 0
    pandas.testing.assert_frame_equal(pandas.read_csv(run_dir / "repro.csv"), report)


def test_a_reproduction_that_needs_the_users_file_says_which_option_to_pass(bench, tmp_path):
    assert_bad_input(bench("repro", "run", "nanogpt_shakespeare", "--scale", "smoke", "--out", tmp_path),
                     "nanogpt_shakespeare needs --task-opt text.path=FILE", "tiny Shakespeare")
    assert not list(tmp_path.iterdir())  # refused before any run folder was made
    # the user's task options join the protocol's; they may not change one the protocol sets
    assert_bad_input(bench("repro", "run", "nanogpt_shakespeare", "--scale", "smoke", "--out", tmp_path,
                           "--task-opt", "text.path=x.txt", "--task-opt", "text.seq_len=8"),
                     "--task-opt text.seq_len: the nanogpt_shakespeare protocol sets it (16)")


def figures(rows: list[tuple]) -> pandas.DataFrame:
    """Figures of runs that fitted their training data (train 1.0), as run_figures gives them."""
    columns = ["task", "cell", "hidden_size", "num_layers", "lr", "seed", "figure"]
    return pandas.DataFrame(rows, columns=columns).assign(train=1.0)


def test_claims_bear_on_their_settings_and_over_settings_takes_the_best():
    reproduction = benchsuite.repro.load("mingru_selective_copy")
    copy = ("selective_copy", "mingru", 64)
    ran = figures([(*copy, 1, 1e-3, 0, 0.40), (*copy, 1, 1e-3, 1, 0.50), (*copy, 2, 1e-3, 0, 0.90),
                   (*copy, 2, 1e-3, 1, 0.96), (*copy, 3, 1e-3, 0, 0.99), (*copy, 3, 1e-3, 1, 0.97)])
    rows = {row["claim"]: row for row in benchsuite.repro.claim_rows(reproduction, "cpu", ran)}
    one = rows["one-block-cannot-select"]  # the mean over seeds of the one-block runs, against < 0.60
    assert one["setting"] == "num_layers=1" and one["ours"] == pytest.approx(0.45) and one["runs"] == 2
    assert one["published"] == 0.370 and one["verdict"] == "reproduced"
    depth = rows["depth-selects"]  # the best of two blocks (0.93 over 2 seeds) and three (0.98 over 2 seeds)
    assert depth["ours"] == pytest.approx(0.98) and depth["runs"] == 2 and depth["published"] == 0.995
    assert depth["setting"] == "max over num_layers=2, num_layers=3" and depth["verdict"] == "reproduced"
    # the verdict counts the best setting's runs: one seed of three blocks is too few, whatever two blocks ran
    rows = benchsuite.repro.claim_rows(reproduction, "cpu", ran[:-1])
    assert rows[1]["ours"] == pytest.approx(0.99) and rows[1]["verdict"] == "inconclusive"
    # the table of every figure: each depth and cell, with the paper's figure beside ours
    table = {(row["setting"], row["cell"]): row for row in benchsuite.repro.figure_rows(reproduction, "cpu", ran)}
    assert set(table) == {(f"num_layers={depth}", cell) for depth in (1, 2, 3) for cell in ("mingru", "minlstm")}
    assert table["num_layers=2", "mingru"]["ours"] == pytest.approx(0.93)
    assert table["num_layers=2", "minlstm"]["ours"] is None and table["num_layers=2", "minlstm"]["published"] == 0.857


def test_a_claim_is_checked_at_each_width_and_the_papers_other_mixers_are_printed_beside_ours():
    reproduction = benchsuite.repro.load("zoology_mqar")
    ran = figures([("mqar", "transformer", 64, 2, lr, 0, figure) for lr, figure in ((2.2e-3, 0.7), (1e-2, 0.99))]
                  + [("mqar", "transformer", 128, 2, 2.2e-3, 0, 0.5)])
    rows = benchsuite.repro.claim_rows(reproduction, "cpu", ran)
    assert [(row["setting"], row["ours"], row["runs"]) for row in rows] == [("width=64", 0.99, 2),
                                                                             ("width=128", 0.5, 1)]
    assert [row["verdict"] for row in rows] == ["reproduced", "inconclusive"]  # one lr of two finished at 128
    table = benchsuite.repro.figure_rows(reproduction, "cpu", ran)
    rwkv = {row["setting"]: row["published"] for row in table if row["cell"] == "rwkv"}
    assert rwkv == {"width=64": 0.76, "width=128": 0.92}


@pytest.mark.slow
def test_smoke_runs_report_per_setting_and_read_the_users_text(bench, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("to be or not to be that is the question " * 60, encoding="utf-8")
    for name, extra in (("mingru_selective_copy", ()), ("nanogpt_shakespeare", ("--task-opt", f"text.path={corpus}"))):
        out = tmp_path / name
        result = bench("repro", "run", name, "--scale", "smoke", "--out", out, "--quiet", *extra)
        assert result.exit_code == 0, result.output
        run_dir = only_run_dir(out)
        report, runs = pandas.read_csv(run_dir / "repro.csv"), pandas.read_csv(run_dir / "runs.csv")
        assert (runs["status"] == "ok").all() and set(report["verdict"]) <= {"reproduced", "not reproduced",
                                                                                "inconclusive"}
        if name == "nanogpt_shakespeare":  # the validation loss, mean over seeds
            assert report["ours"][0] == pytest.approx(runs["valid_loss"].mean())
        else:  # one block, and the best of the depths at or above two the smoke scale ran (two blocks)
            by_depth = runs.groupby("num_layers")["test_accuracy"].mean()
            assert report.set_index("claim")["ours"].to_dict() == pytest.approx(
                {"one-block-cannot-select": by_depth[1], "depth-selects": by_depth[2]})


@pytest.mark.parametrize(("op", "train", "verdict"), [
    ("<", 0.95, "reproduced"),  # fits the training lengths, fails beyond them: the claim, shown
    ("<", 0.55, "inconclusive"),  # fails within the training lengths too: beyond them says nothing
    (">=", 0.55, "not reproduced"),  # a claim that a model succeeds fails with the model, fitted or not
])
def test_a_failure_claim_counts_only_where_the_model_fits_the_training_lengths(op, train, verdict):
    repro = benchsuite.repro.load("deletang")
    content = {**repro.content, "claims": [{"id": "c", "text": "t", "tasks": ["parity_check"], "cells": ["lstm"],
                                            "op": op, "threshold": 0.7, "basis": "b"}]}
    figures = pandas.DataFrame({"task": "parity_check", "cell": "lstm", "lr": 1e-3, "seed": [0, 1],
                                "figure": [0.50, 0.52], "train": [train - 0.05, train]})
    [row] = benchsuite.repro.claim_rows(benchsuite.repro.Reproduction("deletang", content), "cpu", figures)
    assert (row["verdict"], row["ours"], row["ours_train"]) == (verdict, 0.52, train)


def test_an_interrupted_reproduction_keeps_its_record_and_says_how_to_finish(bench, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()

    def interrupted(*args, **kwargs):
        raise RunInterrupted(str(run_dir), 3, 8)

    monkeypatch.setattr(benchsuite.sweep, "run_options", interrupted)
    result = bench("repro", "run", "deletang", "--scale", "smoke", "--out", tmp_path)
    assert result.exit_code == 130
    assert f"finish with: bench repro run deletang --scale smoke --resume {run_dir}" in result.stderr
    assert json.loads((run_dir / "repro.json").read_text()) == {"name": "deletang", "scale": "smoke"}
