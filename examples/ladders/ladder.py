"""Run a MAD-style difficulty ladder (a `ladder-TASK.toml` here) as one `bench run` per rung, and tabulate the
test accuracy each cell reaches at each rung.

    python examples/ladders/ladder.py examples/ladders/ladder-parity.toml --print    # the commands only
    python examples/ladders/ladder.py examples/ladders/ladder-parity.toml --out results/ladders
    python examples/ladders/ladder.py examples/ladders/ladder-parity.toml --rungs baseline,train_len-3 --cells rnn

A ladder file names one task, the `bench run` options every rung shares (`[run]`), and its rungs in order, the
baseline first and the hardest last, each with the task options it sets (`[[rung]]`: `name`, `options`).
`--rungs` runs only the rungs named, `--cells` replaces the file's cells; the table reads every run under a rung's
folder, so cells run at different times share one table.
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path


def rung_command(task: str, run: dict, options: dict, out: Path) -> list[str]:
    """The `bench run` command of one rung: the shared options, then the rung's task options."""
    command = ["bench", "run", "--tasks", task]
    for key, value in run.items():
        command += [f"--{key}", ",".join(map(str, value)) if isinstance(value, list) else str(value)]
    for key, value in options.items():
        command += ["--task-opt", f"{task}.{key}={value}"]
    return command + ["--out", str(out), "--no-report", "--quiet"]


def test_accuracy_table(task: str, rungs: list[dict], out: Path) -> str:
    """Markdown: one line per rung, test accuracy per cell (mean over seeds), from each rung's runs.csv."""
    import pandas

    lines, cells = [], None
    for rung in rungs:
        runs = pandas.concat(pandas.read_csv(path) for path in sorted((out / rung["name"]).glob("*/runs.csv")))
        means = runs.groupby("cell", sort=False)["test_accuracy"].mean()
        cells = cells or list(means.index)
        setting = ", ".join(f"{key}={value}" for key, value in rung["options"].items()) or "defaults"
        lines.append(f"| {rung['name']} ({setting}) | " + " | ".join(f"{means[cell]:.3f}" for cell in cells) + " |")
    return "\n".join([f"| {task} rung | " + " | ".join(cells) + " |", "|---" * (len(cells) + 1) + "|", *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ladder", type=Path)
    parser.add_argument("--out", type=Path, default=Path("results/ladders"))
    parser.add_argument("--print", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--rungs", help="comma-separated rung names to run [default: all]")
    parser.add_argument("--cells", help="comma-separated cells, instead of the file's")
    args = parser.parse_args()
    ladder = tomllib.loads(args.ladder.read_text(encoding="utf-8"))
    task, out = ladder["task"], args.out / ladder["task"]
    run = ladder["run"] if args.cells is None else {**ladder["run"], "cells": args.cells.split(",")}
    rungs = ladder["rung"]
    if args.rungs is not None:
        names = args.rungs.split(",")
        unknown = sorted(set(names) - {rung["name"] for rung in rungs})
        if unknown:
            parser.error(f"--rungs: {', '.join(unknown)} not in {args.ladder}")
        rungs = [rung for rung in rungs if rung["name"] in names]
    bench = str(Path(sys.executable).with_name("bench"))
    for rung in rungs:
        command = rung_command(task, run, rung["options"], out / rung["name"])
        print(shlex.join(command), flush=True)
        if not args.print:
            subprocess.run([bench, *command[1:]], check=False)  # failed rows are recorded; go on to the next rung
    if not args.print:
        print(test_accuracy_table(task, rungs, out))


if __name__ == "__main__":
    main()
