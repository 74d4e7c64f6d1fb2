"""Fixture files for the compare and report tests, and golden-file checks.

Golden files are rewritten only on request: `BENCH_UPDATE_GOLDEN=1 pytest tests/compare/test_compare.py`
(the rewriting tests then skip, so such a run never passes silently). Review the diff before committing.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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


def copy_fixture(name: str, into: Path) -> Path:
    """A writable copy of a fixture run folder (or file) under `into`."""
    source, target = COMPARE_FIXTURES / name, into / name
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy(source, target)
    return target
