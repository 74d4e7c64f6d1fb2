"""Does `--executor ray --workers 2` finish a sweep sooner than the inline executor, Ray's start-up included?

One sweep whose serial training takes at least SERIAL_SECONDS, run with `--executor inline` and with
`--executor ray --workers 2` as `bench run` processes in one session, one thread per job in both (so two workers
use two cores). It prints the wall-time ratio (ray / inline; goal <= MAX_RATIO on a 2-core machine) and each job's
step_ms_median under two workers against inline: how much sharing the machine disturbs the timings.

It takes minutes, so it runs only when asked:

    BENCHSUITE_RAY_BENCHMARK=1 python -m pytest tests/benchmarks/test_ray_speedup.py -s
"""
from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchsuite.results.files import read_csv_rows
from benchsuite.results.schema import row_key

SERIAL_SECONDS = 90.0  # inline training time the sweep is sized to (at least 60 s, so start-up does not dominate)
MAX_RATIO = 0.65
SWEEP = ["--tasks", "delay", "--cells", "lstm,gru", "--epochs", "5", "--device", "cpu", "--threads", "1",
         "--no-report", "--quiet"]

pytestmark = pytest.mark.skipif(os.environ.get("BENCHSUITE_RAY_BENCHMARK") != "1",
                                reason="minutes long; set BENCHSUITE_RAY_BENCHMARK=1 to run it")


def timed_run(args: list[str], out: Path) -> tuple[float, dict[tuple, dict[str, str]]]:
    """Wall seconds of `bench run ARGS` as a user would start it, and its rows by key."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "benchsuite", "run", *args, "--out", str(out)], check=True,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})
    seconds = time.perf_counter() - started
    (runs,) = out.glob("*/runs.csv")
    return seconds, {row_key(row): row for row in read_csv_rows(runs)}


def test_two_ray_workers_beat_inline(tmp_path: Path) -> None:
    # One seed first: how long a job trains here sizes the sweep to SERIAL_SECONDS of training.
    _, probe = timed_run([*SWEEP, "--seeds", "0"], tmp_path / "probe")
    per_seed = sum(float(row["train_seconds"]) for row in probe.values())
    seeds = ",".join(map(str, range(max(2, math.ceil(SERIAL_SECONDS / per_seed)))))

    inline_seconds, inline = timed_run([*SWEEP, "--seeds", seeds], tmp_path / "inline")
    ray_seconds, ray = timed_run([*SWEEP, "--seeds", seeds, "--executor", "ray", "--workers", "2"], tmp_path / "ray")

    assert inline.keys() == ray.keys() and {row["status"] for row in [*inline.values(), *ray.values()]} == {"ok"}
    serial = sum(float(row["train_seconds"]) for row in inline.values())
    step_ratios = {key: float(ray[key]["step_ms_median"]) / float(inline[key]["step_ms_median"]) for key in inline}
    ratio = ray_seconds / inline_seconds
    print(f"\n{len(inline)} jobs, serial training {serial:.1f} s; wall: inline {inline_seconds:.1f} s, "
          f"ray --workers 2 {ray_seconds:.1f} s, ratio {ratio:.2f} (goal <= {MAX_RATIO}); load {os.getloadavg()}")
    print(f"step_ms_median, 2 workers / inline: median {statistics.median(step_ratios.values()):.2f}, "
          f"range {min(step_ratios.values()):.2f}..{max(step_ratios.values()):.2f}")
    for key, value in sorted(step_ratios.items()):
        print(f"  {key[1]} seed {key[-1]}: inline {float(inline[key]['step_ms_median']):.3f} ms, "
              f"ray {float(ray[key]['step_ms_median']):.3f} ms ({value:.2f}x)")
    assert serial >= 60, "the sweep is too small to compare start-up fairly; raise SERIAL_SECONDS"
    assert ratio <= MAX_RATIO
