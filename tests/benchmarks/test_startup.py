"""Start-up time of `bench --help` and `bench list` against a bare `python -c pass`, measured interleaved
in one run (medians), so machine load affects both sides alike. Goal: `bench --help` under 0.25 s."""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_SECONDS = 0.25
ROUNDS = 5


def bench_command() -> list[str]:
    script = Path(sys.executable).with_name("bench")  # the console script users run
    return [str(script)] if script.exists() else [sys.executable, "-m", "benchsuite"]


def interleaved_medians(commands: dict[str, list[str]], rounds: int = ROUNDS) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def test_bench_help_starts_fast(benchmark) -> None:
    bench = bench_command()
    medians = interleaved_medians({"python -c pass": [sys.executable, "-c", "pass"],
                                   "bench --help": [*bench, "--help"], "bench list": [*bench, "list"]})
    bare = medians["python -c pass"]
    report = {f"{name} s": round(value, 4) for name, value in medians.items()}
    report.update({f"{name} / bare": round(medians[name] / bare, 2) for name in ("bench --help", "bench list")})
    benchmark.extra_info.update(report)
    print("\nstart-up (median of %d, interleaved): %s" % (ROUNDS, report))
    benchmark.pedantic(subprocess.run, args=([*bench, "--help"],), kwargs={"stdout": subprocess.DEVNULL},
                       rounds=3, iterations=1)
    # The goal, as time added to a bare start: load on the machine slows both sides alike.
    assert medians["bench --help"] - bare < GOAL_SECONDS, report
