"""Shared test helpers: invoke `bench` in-process, read what a run wrote, run on one thread."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

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


@pytest.fixture
def one_thread() -> Iterator[None]:
    """torch's intra-op pool and NumPy's BLAS limited to one thread for one test, restored after.

    The models under test are far too small to gain from more threads, and on a shared machine a
    thread pool spends its time waiting for descheduled workers: timings then measure the neighbours.
    """
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(threads)
