"""scripts/gpu_check.sh on the CPU at small sizes: every part a GPU machine would run, run here, into one file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TORCH_CELLS = {"rnn", "lstm", "gru", "mingru", "minlstm", "lru", "transformer"}


@pytest.mark.slow  # a sweep of seven cells and two timing passes: about a minute
def test_gpu_check_runs_every_part_on_the_cpu(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable, "BENCH_SKIP_INSTALL": "1", "GPU_CHECK_OUT": str(tmp_path)}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--device", "cpu", "--quick"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads((tmp_path / "gpu_check.json").read_text())
    assert figures["tests_rc"] in (0, 5)  # the CUDA tests skip here (5: none collected)
    assert {row["cell"] for row in figures["sweep"]} == TORCH_CELLS
    assert {row["status"] for row in figures["sweep"]} == {"ok"}
    bench = figures["deepbench_lstm"]
    assert bench["harness_step_ms"] > 0 and bench["raw_step_ms"] > 0
    lengths = {row["T"] for row in figures["scans"]}
    assert {(row["cell"], row["T"]) for row in figures["scans"]} == {
        (cell, steps) for cell in ("lstm", "mingru", "minlstm", "lru") for steps in lengths}
    page = (tmp_path / "gpu_check.md").read_text()
    assert all(f"| {cell} |" in page for cell in TORCH_CELLS)
