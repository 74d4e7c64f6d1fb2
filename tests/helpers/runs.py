"""Find what a run wrote."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path


def only_run_dir(out: Path) -> Path:
    """The single run folder a test's run created under `out` (fails if there is none or more than one)."""
    folders = [path for path in Path(out).iterdir() if path.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def wait_for_rows(runs: Path, count: int, child: subprocess.Popen, limit: float = 120.0) -> None:
    """Return once the runs.csv a child process writes holds `count` rows; fail if it ends or `limit` s pass first."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and child.poll() is None:
        if runs.exists() and len(runs.read_bytes().splitlines()) > count:  # header plus `count` rows
            return
        time.sleep(0.02)
    raise AssertionError(f"no {count} rows in {runs} in time (child exit code {child.poll()})")
