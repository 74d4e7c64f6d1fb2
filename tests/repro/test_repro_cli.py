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
