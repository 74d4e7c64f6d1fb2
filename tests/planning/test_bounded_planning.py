"""Planning is bounded: a grid too large to plan and a --params too large to size are refused, exit 2, before any
work starts (issue 29: a 10^7-row grid spent 100 s and 5.7 GB before its first row; --params 10^12 searched for
minutes)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchsuite.errors import BenchInputError
from benchsuite.planning.options import RunOptions
from helpers.cli import assert_bad_input, invoke

GRID_LIMIT = 100_000  # the limits the error messages state, as the README gives them
PARAMS_LIMIT = 10 ** 7


def listed(count: int, start: int = 0) -> str:
    return ",".join(str(value) for value in range(start, start + count))


def test_a_grid_too_large_to_plan_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    seeds, epochs, lrs = 1000, 30, 20  # 600,000 rows for one causal task and one cell of one layer
    lr_values = ",".join(f"{0.001 * (step + 1):g}" for step in range(lrs))
    args = ["run", "--tasks", "apple", "--cells", "rnn", "--seeds", listed(seeds), "--epochs", listed(epochs, 1),
            "--lr", lr_values, "--out", str(tmp_path), "--threads", "1"]
    started = time.perf_counter()
    # A child process with a time limit: before the fix the grid was planned and then trained, without end.
    result = subprocess.run([sys.executable, "-m", "benchsuite", *args], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "BENCHSUITE_LOAD_PLUGINS": ""})
    assert result.returncode == 2, result.stderr
    assert time.perf_counter() - started < 30
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("Error: ") and "Traceback" not in result.stderr
    assert f"{seeds * epochs * lrs:,} rows" in line and f"{GRID_LIMIT:,}" in line
    assert "--seeds 1,000" in line  # the factors are named
    assert not any(tmp_path.iterdir())  # no run folder


def test_the_grid_size_counts_every_axis_and_each_tasks_directions() -> None:
    # apple is causal (uni only), cloze is not (uni and bi): (1 + 2) directions x 2 cells x 3 layers x 4 lrs x
    # 2000 seeds x 10 weight decays.
    result = invoke("run", "--tasks", "apple,cloze", "--cells", "rnn,gru", "--layers", "1,2,3", "--lr", "1,2,3,4",
                    "--seeds", listed(2000), "--weight-decay", "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9")
    rows = (1 + 2) * 2 * 3 * 4 * 2000 * 10
    assert rows > GRID_LIMIT
    assert_bad_input(result, f"{rows:,} rows")


def test_a_huge_grid_is_refused_at_once_without_multiplying_it_out() -> None:
    # 10^12 rows: multiplying them out would never end; counting them is instant.
    values = [",".join(f"{0.001 * (step + 1):g}" for step in range(100)), listed(100, 1)]
    started = time.perf_counter()
    result = invoke("run", "--tasks", "apple", "--cells", "rnn", "--lr", values[0], "--epochs", values[1],
                    "--hidden", values[1], "--batch-size", values[1], "--seeds", listed(100), "--warmup", listed(100))
    assert time.perf_counter() - started < 10
    assert_bad_input(result, f"{10 ** 12:,} rows")


def test_params_is_bounded_before_any_model_is_built() -> None:
    with pytest.raises(BenchInputError, match=r"--params: 1000000000000 is above the largest allowed value"):
        RunOptions.parse(tasks="apple", params=10 ** 12)
    assert RunOptions.parse(tasks="apple", params=10 ** 6).params == 10 ** 6


def test_params_too_large_is_bad_input_on_the_command_line() -> None:
    started = time.perf_counter()
    result = invoke("run", "--tasks", "apple", "--cells", "lstm", "--params", str(10 ** 12))
    assert time.perf_counter() - started < 10
    assert_bad_input(result, "--params", "1000000000000", f"{PARAMS_LIMIT}")
