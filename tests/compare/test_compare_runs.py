"""`bench compare` on real runs: the unit of significance is the run, so two runs of one command agree, a run made
3x slower (a cell that really sleeps longer per forward pass) is a regression, and --baseline compares several."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers.cell import SOURCE as HOOKED_RNN
from helpers.cli import assert_bad_input, invoke
from helpers.runs import only_run_dir

PACED_PLUGIN = HOOKED_RNN + '''
import os
import time

from benchsuite import CellSpec, hookimpl


def paced(layer, output):
    """Sleep PACED_MS milliseconds on every forward pass: a slowdown that is real time."""
    time.sleep(float(os.environ["PACED_MS"]) / 1e3)
    return output


@hookimpl
def register_cells(register):
    register(CellSpec("paced", "torch", lambda config: HookedRNN(config, paced),
                      "nn.RNN with a fixed sleep per forward pass"))
'''
FAST_MS, SLOW_MS = 10, 30


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Run folders by name: two of one command with 3 seeds, and 7-seed runs at the fast and the slow pace."""
    base = tmp_path_factory.mktemp("paced")
    plugins = base / "plugins"
    plugins.mkdir()
    (plugins / "paced.py").write_text(PACED_PLUGIN)
    made = {}
    for name, pace, seeds in (("a", FAST_MS, "0,1,2"), ("b", FAST_MS, "0,1,2"), ("fast7", FAST_MS, "0,1,2,3,4,5,6"),
                              ("slow7", SLOW_MS, "0,1,2,3,4,5,6")):
        os.environ["PACED_MS"] = str(pace)
        try:
            result = invoke("run", "--tasks", "apple", "--cells", "paced", "--epochs", "8", "--seeds", seeds,
                            "--device", "cpu", "--threads", "1", "--plugins-dir", str(plugins), "--no-report",
                            "--quiet", "--out", str(base / name))
        finally:
            del os.environ["PACED_MS"]
        assert result.exit_code == 0, result.output
        made[name] = only_run_dir(base / name)
    return made


def test_two_runs_of_one_command_with_three_seeds_exit_0(runs):
    result = invoke("compare", str(runs["a"]), str(runs["b"]), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    [step] = [m for m in report["metrics"] if m["metric"] == "step_ms_median"]
    assert (step["test"], step["n_a"], step["n_b"]) == ("too-few-runs", 3, 3)  # per run, not ~21 steps a side


def test_a_run_three_times_slower_exits_1(runs):
    result = invoke("compare", str(runs["fast7"]), str(runs["slow7"]), "--format", "json")
    assert result.exit_code == 1, result.output
    [step] = [m for m in json.loads(result.stdout)["metrics"] if m["metric"] == "step_ms_median"]
    assert (step["verdict"], step["test"], step["n_a"], step["n_b"]) == ("regressed", "mann-whitney", 7, 7)
    assert step["ratio"] > 2


def test_several_runs_against_a_baseline(runs):
    fast7, slow7, three = str(runs["fast7"]), str(runs["slow7"]), str(runs["a"])
    result = invoke("compare", fast7, slow7, three, "--baseline", fast7)
    assert result.exit_code == 1, result.output
    assert result.stdout.count("B: ") == 2
    assert result.stdout.rstrip().endswith(f"overall: REGRESSION in {slow7}")
    report = json.loads(invoke("compare", fast7, slow7, three, "--baseline", fast7, "--format", "json").stdout)
    assert report["baseline"] == fast7 and report["regressed"]
    assert [(c["b"]["source"], c["regressed"]) for c in report["comparisons"]] == [(slow7, True), (three, False)]


def test_more_than_two_sides_need_a_baseline(runs):
    assert_bad_input(invoke("compare", runs["a"], runs["b"], runs["fast7"]), "name it with --baseline")
