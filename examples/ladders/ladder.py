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
import importlib.util
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


TABLE_HEADER = ("task", "rung (options; chance)")  # then one column per cell


def rung_setting(rung: dict) -> str:
    """The task options a rung sets, as its table label shows them."""
    return ", ".join(f"{key}={value}" for key, value in rung["options"].items()) or "defaults"


def test_accuracy_table(ladders: list[tuple[str, list[dict]]], out: Path) -> str:
    """Markdown: one line per (task, rung), test accuracy per cell (mean over seeds) from the runs.csv files under
    `out/TASK/RUNG/`, and the rung's chance (the majority answer's share of the test targets)."""
    import pandas

    lines, cells = [], None
    for task, rungs in ladders:
        for rung in rungs:
            files = sorted((out / task / rung["name"]).glob("*/runs.csv"))
            if not files:
                print(f"error: no runs.csv under {out / task / rung['name']}: run that rung first", file=sys.stderr)
                sys.exit(2)
            runs = pandas.concat(pandas.read_csv(path) for path in files)
            means = runs.groupby("cell", sort=False)["test_accuracy"].mean()
            cells = cells or list(means.index)
            label = f"{rung['name']} ({rung_setting(rung)}; chance {runs['chance'].iloc[0]:.2f})"
            lines.append(f"| {task} | {label} | " + " | ".join(f"{means[cell]:.3f}" for cell in cells) + " |")
    header = [*TABLE_HEADER, *cells]
    return "\n".join(["| " + " | ".join(header) + " |", "|---" * len(header) + "|", *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ladder", type=Path)
    parser.add_argument("--out", type=Path, default=Path("results/ladders"))
    parser.add_argument("--print", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--rungs", help="comma-separated rung names to run [default: all]")
    parser.add_argument("--cells", help="comma-separated cells, instead of the file's")
    args = parser.parse_args()
    ladder = tomllib.loads(args.ladder.read_text(encoding="utf-8"))
    task = ladder["task"]
    run = ladder["run"] if args.cells is None else {**ladder["run"], "cells": args.cells.split(",")}
    rungs = ladder["rung"]
    if args.rungs is not None:
        names = args.rungs.split(",")
        unknown = sorted(set(names) - {rung["name"] for rung in rungs})
        if unknown:
            parser.error(f"--rungs: {', '.join(unknown)} not in {args.ladder}")
        rungs = [rung for rung in rungs if rung["name"] in names]
    if not args.print and importlib.util.find_spec("benchsuite") is None:
        parser.error(f"benchsuite is not installed for {sys.executable}; run this with the Python it is installed in "
                     "(.venv/bin/python after scripts/setup.sh, or `python` after `source .venv/bin/activate`)")
    for rung in rungs:
        command = rung_command(task, run, rung["options"], args.out / task / rung["name"])
        print(shlex.join(command), flush=True)
        if not args.print:  # `bench` as this Python runs it, wherever its script was installed
            subprocess.run([sys.executable, "-m", "benchsuite", *command[1:]], check=False)  # a failed row is recorded
    if not args.print:
        print(test_accuracy_table([(task, rungs)], args.out))


if __name__ == "__main__":
    main()
