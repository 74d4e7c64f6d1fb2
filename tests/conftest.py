"""Shared test helpers: invoke `bench` in-process and read what a run wrote."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner, Result

from benchsuite.cli import main


@pytest.fixture
def bench(tmp_path: Path) -> Callable[..., Result]:
    """Run `bench ARGS...` in-process; `run` gets `--out tmp_path/results` unless the test gives one or resumes."""

    def invoke(*args: str) -> Result:
        args = list(args)
        if args and args[0] == "run" and "--out" not in args and "--resume" not in args:
            args += ["--out", str(tmp_path / "results")]
        return CliRunner().invoke(main, args, catch_exceptions=False)

    return invoke


def only_run_dir(out: Path) -> Path:
    """The single run folder a test's run created under `out`."""
    (run_dir,) = [path for path in out.iterdir() if path.is_dir()]
    return run_dir
