"""The README's figure tables, each made by a script: this file names the script of every table and writes the tables
it can render.

    python scripts/readme_tables.py                                  # rewrite the derived tables in README.md
    python scripts/readme_tables.py --check                          # exit 1 naming each table that differs
    python scripts/readme_tables.py --measured ladder=results/ladders  # rewrite a measured table from its runs

A generated table lies between `<!-- table: NAME -->` and `<!-- /table -->` in README.md, NAME a key of TABLES.
A *derived* table is computed from committed text (another README table, a file in the repository): it is rendered
whole, cheaply, and tests/docs/test_readme.py checks the README holds exactly that. A *measured* table comes from
runs too long for a test: its `command` makes them, `render` writes the table from their folders, and the test checks
the README's table has the columns and rows (their labels) that `layout` says the command produces.
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LADDERS = ROOT / "examples" / "ladders"
MARKED = re.compile(r"(<!-- table: (?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)
# The README's ladder table: each task's baseline and hardest rung, in this order.
LADDER_TASKS = ("recall", "copy", "induction", "parity", "modular", "even-pairs", "dyck", "reverse")
RUNG_LABEL = re.compile(r"^(?P<name>\S+) \((?P<setting>.*); chance (?P<chance>[0-9.]+)\)$")


def markdown_rows(table: str) -> list[list[str]]:
    """A markdown table's cells, row by row, header first, the separator row left out."""
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table.strip().splitlines()]
    return [row for row in rows if not all(re.fullmatch(r":?-+:?", cell) for cell in row)]


def markdown_table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    """Rows as a markdown table; `align` gives each column's separator (`---` by default)."""
    lines = [header, align or ["---"] * len(header), *rows]
    return "".join("| " + " | ".join(line) + " |\n" for line in lines)


def marked_tables(readme: str) -> dict[str, str]:
    """NAME -> the text between a table's markers."""
    return {match["name"]: match["body"] for match in MARKED.finditer(readme)}


def load_ladder_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ladder_runner", LADDERS / "ladder.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readme_ladders() -> list[tuple[str, list[dict]]]:
    """(task, [baseline rung, hardest rung]) of each ladder, in the README's order."""
    ladders = {}
    for path in LADDERS.glob("ladder-*.toml"):
        ladder = tomllib.loads(path.read_text(encoding="utf-8"))
        ladders[ladder["task"]] = [ladder["rung"][0], ladder["rung"][-1]]
    return [(task, ladders[task]) for task in LADDER_TASKS]


def ladder_layout() -> tuple[list[str], list[list[str]]]:
    """The ladder table's header and each row's task, rung name and setting (the chance is measured)."""
    runner = load_ladder_runner()
    cells = tomllib.loads((LADDERS / "ladder-parity.toml").read_text(encoding="utf-8"))["run"]["cells"]
    header = [*runner.TABLE_HEADER, *cells]
    return header, [[task, rung["name"], runner.rung_setting(rung)] for task, rungs in readme_ladders()
                    for rung in rungs]


def ladder_table(runs: Path) -> str:
    """The ladder table from ladder.py's run folders (`--out runs` for every ladder)."""
    return load_ladder_runner().test_accuracy_table(readme_ladders(), runs) + "\n"


def ladder_table_layout(table: str) -> tuple[list[str], list[list[str]]]:
    """What `ladder_layout` gives, read from a ladder table's text."""
    header, *rows = markdown_rows(table)
    labels = [RUNG_LABEL.match(row[1]) for row in rows]
    return header, [[row[0], label["name"], label["setting"]] if label else row[:2] for row, label in zip(rows, labels)]


def ladder_scoreboard(readme: str) -> str:
    """The IQM of each cell over the ladder table's rungs as tasks (normalized between each rung's chance and 1), its
    95% task-and-seed bootstrap interval, and the cells whose intervals overlap it."""
    import pandas

    from benchsuite.analysis.aggregate import aggregate_scoreboard

    header, *rows = markdown_rows(marked_tables(readme)["ladder"])
    cells = header[2:]
    figures = [{"task": f"{row[0]} {RUNG_LABEL.match(row[1])['name']}", "cell": cell, "seed": 0,
                "test_accuracy": float(value), "chance": float(RUNG_LABEL.match(row[1])["chance"])}
               for row in rows for cell, value in zip(cells, row[2:])]
    board = aggregate_scoreboard(pandas.DataFrame(figures), resample_tasks=True)
    return markdown_table(["cell", "IQM", "95% CI", "intervals overlap with"], [
        [entry.cell, f"{entry.iqm:.3f}", f"[{entry.ci_low:.3f}, {entry.ci_high:.3f}]",
         entry.overlaps.replace(",", ", ")] for entry in board.itertuples()])


@dataclass(frozen=True)
class Table:
    """Where a README table comes from: `derive` (README text -> the table) for a derived one; `layout` (its header
    and row labels), `labels` (the same read from the README's table) and `render` (run folder -> the table) for a
    measured one, made by `command`."""

    command: str
    derive: Callable[[str], str] | None = None
    layout: Callable[[], tuple[list[str], list[list[str]]]] | None = None
    labels: Callable[[str], tuple[list[str], list[list[str]]]] | None = None
    render: Callable[[Path], str] | None = None


TABLES: dict[str, Table] = {
    "ladder": Table(command="python examples/ladders/ladder.py examples/ladders/ladder-TASK.toml --out results/ladders",
                    layout=ladder_layout, labels=ladder_table_layout, render=ladder_table),
    "ladder-scoreboard": Table(command="python scripts/readme_tables.py", derive=ladder_scoreboard),
}


def replaced(readme: str, name: str, body: str) -> str:
    """README text with table NAME's body replaced."""
    return MARKED.sub(lambda match: match.group(0) if match["name"] != name else match[1] + body + match[4], readme)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a derived table differs")
    parser.add_argument("--measured", action="append", default=[], metavar="NAME=RUN_FOLDERS",
                        help="also rewrite measured table NAME from the run folders its command wrote")
    args = parser.parse_args()
    readme = README.read_text(encoding="utf-8")
    for assignment in args.measured:
        name, _, runs = assignment.partition("=")
        if name not in TABLES or TABLES[name].render is None or not runs:
            measured = sorted(key for key, table in TABLES.items() if table.render)
            parser.error(f"--measured {assignment}: give NAME=RUN_FOLDERS with NAME one of {', '.join(measured)}")
        readme = replaced(readme, name, TABLES[name].render(Path(runs)))
    for name, table in TABLES.items():
        if table.derive is not None:  # in order: a derived table may read one rewritten above it
            readme = replaced(readme, name, table.derive(readme))
    if args.check:
        current = marked_tables(README.read_text(encoding="utf-8"))
        stale = [name for name, body in marked_tables(readme).items() if current[name] != body]
        if stale:
            sys.exit(f"README.md tables differ from their scripts: {', '.join(stale)} "
                     "(python scripts/readme_tables.py rewrites them)")
        return
    README.write_text(readme, encoding="utf-8")


if __name__ == "__main__":
    main()
