"""The difficulty ladders in examples/ladders: each climbs from its task's baseline one knob at a time, with options
its task accepts, and the runner turns a rung into the `bench run` command the README gives."""
from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import pytest

import benchsuite
from benchsuite.planning.tasks import convert_options

SWEEPS = Path(__file__).parents[2] / "examples" / "ladders"
LADDERS = sorted(SWEEPS.glob("ladder-*.toml"))


def load_runner():
    spec = importlib.util.spec_from_file_location("ladder_runner", SWEEPS / "ladder.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_diagnostic_task_has_a_ladder():
    tasks = {tomllib.loads(path.read_text())["task"] for path in LADDERS}
    assert tasks == {"recall", "copy", "induction", "parity", "modular", "even-pairs", "dyck", "reverse"}


@pytest.mark.parametrize("path", LADDERS, ids=lambda path: path.stem)
def test_each_rung_changes_one_knob_of_the_baseline_and_builds(path):
    ladder = tomllib.loads(path.read_text())
    spec = benchsuite.get_task(ladder["task"])
    baseline, *rungs = ladder["rung"]
    assert baseline["name"] == "baseline" and len(rungs) >= 2
    for rung in ladder["rung"]:
        options = convert_options(spec, {key: str(value) for key, value in rung["options"].items()})
        spec.build(**options)  # a bad option raises BenchInputError
    for rung in rungs:
        changed = {key for key in {**baseline["options"], **rung["options"]}
                   if baseline["options"].get(key) != rung["options"].get(key)}
        assert len(changed) == 1, (rung["name"], changed)


def test_a_rung_becomes_one_bench_run_command(tmp_path):
    command = load_runner().rung_command("dyck", {"cells": ["rnn", "lstm"], "seeds": [0], "threads": 1},
                                         {"kinds": 2}, tmp_path)
    assert command == ["bench", "run", "--tasks", "dyck", "--cells", "rnn,lstm", "--seeds", "0", "--threads", "1",
                       "--task-opt", "dyck.kinds=2", "--out", str(tmp_path), "--no-report", "--quiet"]


def test_rungs_and_cells_select_what_the_runner_runs():
    import subprocess
    import sys

    runner = [sys.executable, str(SWEEPS / "ladder.py"), str(SWEEPS / "ladder-parity.toml"), "--print"]
    shown = subprocess.run([*runner, "--rungs", "baseline,train_len-3", "--cells", "rnn,gru"], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    assert [line.split("--out ")[1].split()[0].rsplit("/", 1)[1] for line in shown] == ["baseline", "train_len-3"]
    assert all("--cells rnn,gru " in line for line in shown)
    refused = subprocess.run([*runner, "--rungs", "baseline,nope"], capture_output=True, text=True)
    assert refused.returncode == 2 and "--rungs: nope not in" in refused.stderr
