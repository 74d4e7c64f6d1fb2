"""The command line: listing, bad input as exit 2, what a run leaves on disk, fast start."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from benchsuite.results.schema import RUN_COLUMNS
from helpers.runs import only_run_dir


def test_list_shows_cells_and_tasks_with_their_plugins(bench) -> None:
    result = bench("list")
    assert result.exit_code == 0
    for name in ("rnn", "lstm", "gru", "numpy-rnn", "apple", "ship", "torch_cells", "numpy_rnn", "seed_tasks"):
        assert name in result.stdout
    assert "hidden_size=25 num_layers=2 epochs=100 lr=0.1" in result.stdout


def test_run_writes_rows_curves_and_meta(bench, tmp_path) -> None:
    result = bench("run", "--tasks", "apple", "--cells", "rnn,gru", "--epochs", "5", "--seeds", "0,1")
    assert result.exit_code == 0, result.output
    run_dir = only_run_dir(tmp_path / "results")
    runs = pd.read_csv(run_dir / "runs.csv")
    assert list(runs.columns) == RUN_COLUMNS
    assert len(runs) == 4 and set(runs["status"]) == {"ok"} and set(runs["epochs"]) == {5}
    curves = pd.read_csv(run_dir / "curves.csv")
    assert len(curves[curves.metric.isin(["loss", "accuracy"])]) == 4 * 5 * 2  # rows x epochs x (loss, accuracy)
    meta = json.loads((run_dir / "meta.json").read_text())
    for field in ("schema_version", "python", "torch", "numpy", "cpu", "threads", "device", "git_commit", "argv",
                  "started_at"):
        assert field in meta
    assert "apple" in result.stdout and str(run_dir) in result.stdout


def test_hyperparameters_on_the_command_line_override_task_defaults(bench, tmp_path) -> None:
    result = bench("run", "--tasks", "ship", "--cells", "rnn", "--hidden", "8", "--layers", "1", "--epochs", "3",
                   "--lr", "0.05")
    assert result.exit_code == 0, result.output
    row = pd.read_csv(only_run_dir(tmp_path / "results") / "runs.csv").iloc[0]
    assert (row.hidden_size, row.num_layers, row.epochs, row.lr) == (8, 1, 3, 0.05)


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "benchsuite", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "run" in done.stdout
