"""The test session's ground rules and shared fixtures (the functions behind them are in tests/helpers/).

Hermetic plugins: no installed entry-point plugin loads unless a test names it in BENCHSUITE_LOAD_PLUGINS
(the example package, pip-installed by CI, must not change what `bench list` or a run shows here). The
variable is set when this file is imported, before any test module loads a registry, and child processes
inherit it. Built-in plugins and --plugins-dir files load as always.

Trackers stay local: MLflow and W&B send no telemetry and W&B writes offline, in this process and its children.

Property tests run without a per-example deadline: on a loaded machine an example's time says nothing.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

import pytest
from click.testing import Result
from hypothesis import settings

from benchsuite.registry.loading import LOAD_ENV
from helpers.cli import invoke
from helpers.threads import single_thread

os.environ[LOAD_ENV] = ""
os.environ.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1", "WANDB_MODE": "offline",
                   "WANDB_SILENT": "true"})
settings.register_profile("benchsuite", deadline=None)
settings.load_profile("benchsuite")


@pytest.fixture
def bench(tmp_path: Path) -> Callable[..., Result]:
    """Run `bench ARGS...` in-process; `run` gets `--out tmp_path/results` unless the test gives one or resumes."""

    def run(*args: str) -> Result:
        args = list(args)
        if args and args[0] == "run" and "--out" not in args and "--resume" not in args:
            args += ["--out", str(tmp_path / "results")]
        return invoke(*args)

    return run


@pytest.fixture
def one_thread() -> Iterator[None]:
    """The test runs with one torch thread and one BLAS thread (see helpers.threads)."""
    with single_thread():
        yield
