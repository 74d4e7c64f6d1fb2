"""The wait a user sees beyond training: wall time of `bench run` less the training time its rows record.

    python tests/benchmarks/run_wait.py [--rounds 3] [--tasks apple,ship]

Each round runs `bench run --tasks ... --seeds 0 --threads 1` twice in fresh processes, with and without the report
(interleaved, so load hits both alike), and prints, in seconds: the wall time, the summed `train_seconds` of
runs.csv, the wait (their difference), the share of it the report (summary, plots, page) takes, and the CPU time of
the whole command (user + system) with the report's share of it, which move less than wall time on a loaded
machine. Medians over rounds close the table. The issue's goal is a wait of at most 4 s on a quiet machine.
"""
from __future__ import annotations

import argparse
import csv
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(tasks: str, report: bool) -> tuple[float, float, float]:
    """(wall seconds, summed training seconds, CPU seconds) of one `bench run` in a fresh process."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "benchsuite", "run", "--tasks", tasks, "--seeds", "0", "--threads", "1",
                   "--out", out, "--quiet", *([] if report else ["--no-report"])]
        cpu_before = cpu_seconds_of_children()
        started = time.perf_counter()
        # stderr kept from the screen (a loaded machine warns of noisy steps every run), shown if the run fails
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - started
        cpu = cpu_seconds_of_children() - cpu_before
        with next(Path(out).glob("*/runs.csv")).open(newline="") as table:
            training = sum(float(row["train_seconds"] or 0) for row in csv.DictReader(table))
    return wall, training, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", default="apple,ship")
    args = parser.parse_args()
    waits, report_shares, report_cpus, lines = [], [], [], []
    for round_index in range(args.rounds):
        order = (True, False) if round_index % 2 else (False, True)  # alternate which goes first
        measured = {report: timed_run(args.tasks, report) for report in order}
        (wall, training, cpu), (bare_wall, bare_training, bare_cpu) = measured[True], measured[False]
        report_seconds = (wall - training) - (bare_wall - bare_training)
        waits.append(wall - training)
        report_shares.append(report_seconds)
        report_cpus.append(cpu - bare_cpu)
        lines.append(f"round {round_index + 1}: wall {wall:.2f}, training {training:.2f}, wait {wall - training:.2f} "
                     f"(report {report_seconds:.2f}), CPU {cpu:.2f} (report {cpu - bare_cpu:.2f})")
    print("\n".join(lines))
    print(f"median wait {statistics.median(waits):.2f} s (report {statistics.median(report_shares):.2f} s, report CPU "
          f"{statistics.median(report_cpus):.2f} s) over {args.rounds} rounds; goal <= 4 s on a quiet machine")


if __name__ == "__main__":
    main()
