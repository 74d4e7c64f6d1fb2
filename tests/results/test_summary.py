"""summary.csv: means and standard deviations over seeds, checked against numpy on fixed rows."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchsuite.results.files import RunWriter
from benchsuite.results.schema import RUN_COLUMNS
from benchsuite.results.summary import SUMMARY_METRICS, summarize, write_summary

VARIANT = {"task": "ship", "cell": "rnn", "backend": "torch", "num_layers": 2, "bidirectional": False,
           "hidden_size": 25, "lr": 0.1, "batch_size": 8, "max_epochs": 20, "clip": None, "weight_decay": 0.0,
           "steps": None,
           "device": "cpu", "params": 3250,
           "target": 0.99}
ACCURACY = [0.893, 0.386, 0.897, 0.5]
STEP_MS = [10.4, 30.7, 14.6, 99.0]
EPOCHS_TO_TARGET = [12, None, 30, None]
STATUS = ["ok", "ok", "ok", "diverged"]


def fixed_rows() -> list[dict]:
    rows = [{**VARIANT, "seed": seed, "status": status, "accuracy": accuracy, "step_ms_median": step,
             "epochs_to_target": to_target}
            for seed, (status, accuracy, step, to_target)
            in enumerate(zip(STATUS, ACCURACY, STEP_MS, EPOCHS_TO_TARGET))]
    rows.append({**VARIANT, "bidirectional": True, "seed": 0, "status": "skipped", "error": "causal"})
    return rows


def test_means_and_stds_match_numpy_over_ok_seeds() -> None:
    summary = summarize(pd.DataFrame(fixed_rows()))
    uni = summary[~summary["bidirectional"]].iloc[0]
    ok_accuracy = np.array(ACCURACY[:3])  # the diverged seed does not enter the figures
    assert uni["n_seeds"] == 3
    assert uni["statuses"] == "ok:3 diverged:1"
    assert uni["accuracy_mean"] == pytest.approx(np.mean(ok_accuracy))
    assert uni["accuracy_std"] == pytest.approx(np.std(ok_accuracy, ddof=1))
    assert uni["step_ms_median_mean"] == pytest.approx(np.mean(STEP_MS[:3]))
    assert uni["step_ms_median_std"] == pytest.approx(np.std(STEP_MS[:3], ddof=1))
    # Time-to-target averages the seeds that reached it, and says how many did.
    assert uni["n_reached_target"] == 2
    assert uni["epochs_to_target_mean"] == pytest.approx(21.0)
    assert uni["epochs_to_target_std"] == pytest.approx(np.std([12, 30], ddof=1))
    assert uni["params"] == 3250


def test_variant_with_no_finished_seed_has_blank_figures() -> None:
    summary = summarize(pd.DataFrame(fixed_rows()))
    bi = summary[summary["bidirectional"]].iloc[0]
    assert bi["n_seeds"] == 0 and bi["statuses"] == "skipped:1"
    assert all(np.isnan(bi[f"{metric}_mean"]) for metric in SUMMARY_METRICS)


def test_one_seed_has_no_std() -> None:
    summary = summarize(pd.DataFrame(fixed_rows()[:1]))
    assert summary.loc[0, "accuracy_mean"] == ACCURACY[0]
    assert np.isnan(summary.loc[0, "accuracy_std"])


def test_write_summary_on_an_existing_run_folder(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as writer:
        for row in fixed_rows():
            writer.append({column: row.get(column) for column in RUN_COLUMNS if column != "schema_version"}, [])
    path = write_summary(tmp_path)
    assert path == tmp_path / "summary.csv"
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []
    written = pd.read_csv(path)
    assert list(written["n_seeds"]) == [3, 0]
    assert written.loc[0, "accuracy_mean"] == pytest.approx(np.mean(ACCURACY[:3]))
    assert (written["schema_version"] == 1).all()
    write_summary(tmp_path)  # rewriting replaces the file whole
    assert pd.read_csv(path).equals(written)
