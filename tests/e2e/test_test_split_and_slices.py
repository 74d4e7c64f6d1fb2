"""The test split and per-slice accuracy: rows get test figures and chance, slices.csv agrees with them and with
the task's own data, and the report draws accuracy by slice."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas
import pytest

import benchsuite
from benchsuite.backends import EvalStats
from benchsuite.measurement.slices import Slicing, slice_points
from benchsuite.report.markdown import write_report
from benchsuite.results.naming import figure
from benchsuite_plugins.tasks.formal_tasks import build_parity

PARITY = {"train_len": "6", "test_len": "10", "samples": "80"}


def test_slice_points_are_accuracy_over_each_group_of_rows():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 7, size=50)
    counted = rng.integers(0, 5, size=50)
    correct = rng.integers(0, counted + 1)
    points = slice_points(Slicing("length", {"test": lengths}), "test", EvalStats(0.0, 0.0, correct, counted))
    frame = pandas.DataFrame({"length": lengths, "right": correct, "counted": counted}).groupby("length").sum()
    frame = frame[frame["counted"] > 0]
    assert [p["slice"] for p in points] == frame.index.tolist()
    assert [p["value"] for p in points] == pytest.approx((frame["right"] / frame["counted"]).tolist())
    assert [p["count"] for p in points] == frame["counted"].tolist()
    assert {p["split"] for p in points} == {"test"} and {p["slice_name"] for p in points} == {"length"}
    assert slice_points(Slicing("length", {"test": lengths}), "valid", EvalStats(0.0, 0.0, correct, counted)) == []


@pytest.fixture(scope="module")
def parity_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    table = benchsuite.run(tasks="parity", cells="rnn,numpy-rnn", task_opts={"parity": PARITY}, epochs=2,
                           hidden=8, device="cpu", threads=1, out=str(out))
    return table, table.attrs["run_dir"]


def test_rows_carry_test_figures_and_the_chance_share(parity_run):
    table, _ = parity_run
    data = build_parity(**{key: int(value) for key, value in PARITY.items()})
    assert (table["status"] == "ok").all()
    assert table["chance"].tolist() == [data.chance] * 2
    assert table["test_bpc"].tolist() == pytest.approx((table["test_loss"] / math.log(2)).tolist())
    assert table["test_accuracy"].between(0, 1).all() and table["valid_accuracy"].between(0, 1).all()


def test_slices_count_the_scored_targets_of_each_length_and_average_to_the_split_accuracy(parity_run):
    table, run_dir = parity_run
    data = build_parity(**{key: int(value) for key, value in PARITY.items()})
    slices = pandas.read_csv(f"{run_dir}/slices.csv")
    for (cell, split), points in slices.groupby(["cell", "split"]):
        y, lengths = getattr(data, f"y_{split}"), getattr(data, f"{split}_slices")
        scored = {int(n): int((y[lengths == n] >= 0).sum()) for n in np.unique(lengths)}
        assert dict(zip(points["slice"], points["count"])) == scored
        assert set(points["slice_name"]) == {"length"}
        row = table[table["cell"] == cell].iloc[0]
        weighted = (points["value"] * points["count"]).sum() / points["count"].sum()
        assert weighted == pytest.approx(row[f"{split}_accuracy"])
    assert set(slices["split"]) == {"valid", "test"} and set(slices["cell"]) == {"rnn", "numpy-rnn"}


def test_the_report_plots_accuracy_by_slice_and_states_chance(parity_run):
    _, run_dir = parity_run
    written = write_report(Path(run_dir))
    assert Path(run_dir) / "accuracy_by_slice.png" in written
    summary = (Path(run_dir) / "summary.md").read_text()
    assert f"chance: {figure(parity_run[0]['chance'].iloc[0])} (what guessing" in summary
