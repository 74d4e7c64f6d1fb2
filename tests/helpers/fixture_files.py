"""Fixture files for the compare and report tests, and golden-file checks.

Golden files are rewritten only on request: `BENCH_UPDATE_GOLDEN=1 pytest tests/compare/test_compare.py`
(the rewriting tests then skip, so such a run never passes silently). Review the diff before committing.
"""
from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

from benchsuite.results.files import read_csv_rows, write_rows

FIXTURES = Path(__file__).parents[1] / "fixtures"
COMPARE_FIXTURES = FIXTURES / "compare"
GOLDEN = FIXTURES / "golden"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("BENCH_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        pytest.skip(f"rewrote {path}")
    assert path.exists(), f"{path} is missing: create it with BENCH_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


# Names and an error message a run folder could hold that would inject headings, HTML, images or table rows if
# a report printed them unescaped.
HOSTILE_TASK = "t<img src=x onerror=alert(1)>\n# injected heading"
HOSTILE_CELL = "c|![remote](http://attacker.example/pixel.png)\\"
HOSTILE_ERROR = "RuntimeError: first line\n| a | fake | row |\n<script>alert(1)</script>\n1. a list"


def rewrite(run_dir: Path, change: Callable[[int, dict], dict]) -> None:
    """Rewrite a run folder's runs.csv, each row through `change(index, row)`."""
    rows = read_csv_rows(run_dir / "runs.csv")
    with open(run_dir / "runs.csv", newline="") as file:
        columns = next(csv.reader(file))
    write_rows(run_dir / "runs.csv", columns, [change(index, row) for index, row in enumerate(rows)])


def copy_fixture(name: str, into: Path) -> Path:
    """A writable copy of a fixture run folder (or file) under `into`."""
    source, target = COMPARE_FIXTURES / name, into / name
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy(source, target)
    return target
