"""`bench run --seeds` end to end: rows per seed, summary, curves, timing samples, meta, determinism."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from benchsuite.results.schema import KEY_COLUMNS
from benchsuite_plugins.tasks.seed_tasks import build_ship
from helpers.cell import SOURCE as HOOKED_RNN
from helpers.cli import assert_bad_input, invoke
from helpers.runs import only_run_dir

EPOCHS = 8
META_FIELDS = ["schema_version", "python", "torch", "numpy", "cpu", "cores", "threads", "device", "device_name",
               "git_commit", "git_dirty", "argv", "started_at", "hostname", "measurement"]


@pytest.fixture(scope="module")
def measured_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("results")
    result = invoke("run", "--tasks", "apple,ship", "--cells", "rnn", "--seeds", "0,1,2", "--epochs", EPOCHS,
                    "--threads", "1", "--device", "cpu", "--out", out)
    assert result.exit_code == 0, result.stderr
    return only_run_dir(out), result.stderr


@pytest.fixture
def run_dir(measured_run: tuple[Path, str]) -> Path:
    return measured_run[0]


def test_one_row_per_seed(run_dir: Path) -> None:
    runs = pd.read_csv(run_dir / "runs.csv")
    assert len(runs) == 6 and set(runs["status"]) == {"ok"}
    assert sorted(runs[runs.task == "apple"]["seed"]) == [0, 1, 2]
    assert (runs["threads"] == 1).all()
    assert (runs["infer_ms_median"] > 0).all() and (runs["chars_per_second"] > 0).all()
    # The default target is 0.99 x the task's ceiling: 1 for apple, the computed window ceiling for ship.
    expected = runs["task"].map({"apple": 0.99, "ship": 0.99 * build_ship().ceiling})
    assert runs["target"].tolist() == pytest.approx(expected.tolist())
    # The process resident size includes the interpreter and torch: tens of MiB at least, well below the machine.
    assert runs["peak_memory_mb"].between(20, 64 * 1024).all()


def test_summary_has_three_seeds_per_variant(run_dir: Path) -> None:
    runs = pd.read_csv(run_dir / "runs.csv")
    summary = pd.read_csv(run_dir / "summary.csv")
    assert list(summary["task"]) == ["apple", "ship"] and (summary["n_seeds"] == 3).all()
    for task, group in runs.groupby("task"):
        row = summary[summary.task == task].iloc[0]
        assert row["accuracy_mean"] == pytest.approx(group["accuracy"].mean())
        assert row["final_loss_std"] == pytest.approx(group["final_loss"].std())


def test_curves_hold_every_epoch(run_dir: Path) -> None:
    curves = pd.read_csv(run_dir / "curves.csv")
    for metric in ("loss", "accuracy", "train_seconds"):
        points = curves[curves.metric == metric]
        assert len(points) == 6 * EPOCHS
        assert points.groupby(["task", "seed"])["epoch"].apply(list).map(lambda e: e == list(range(1, 9))).all()
    seconds = curves[curves.metric == "train_seconds"].groupby(["task", "seed"])["value"]
    assert seconds.apply(lambda s: s.is_monotonic_increasing).all()


def test_samples_keep_every_step_and_inference_pass(run_dir: Path) -> None:
    runs = pd.read_csv(run_dir / "runs.csv")
    samples = pd.read_csv(run_dir / "samples.csv")
    for row in runs.to_dict("records"):
        mine = samples[(samples.task == row["task"]) & (samples.seed == row["seed"])]
        steps = mine[mine.metric == "step_ms"]
        assert len(steps) == EPOCHS and list(steps["warmup"]) == [True] + [False] * (EPOCHS - 1)
        # The row's median is the median of its steady steps.
        assert row["step_ms_median"] == pytest.approx(steps[~steps.warmup]["value"].median())
        infer = mine[mine.metric == "infer_ms"]
        assert len(infer) >= 5 and row["infer_ms_median"] == pytest.approx(infer["value"].median())


# A loose plugin: an RNN layer that sleeps a seeded random 1-20 ms per forward pass, so its step times always spread
# far beyond 10% of their median.
JITTERY_PLUGIN = HOOKED_RNN + '''
import random
import time

from benchsuite import CellSpec, hookimpl

draws = random.Random(0)


def jitter(layer, output):
    time.sleep(draws.uniform(0.001, 0.020))
    return output


@hookimpl
def register_cells(register):
    register(CellSpec("jittery", "torch", lambda config: HookedRNN(config, jitter)))
'''


def assert_noise_flagged_and_summed_up(run_dir: Path, stderr: str) -> int:
    """Each row's step_ms_noisy is what its steady step samples say (numpy's quartiles: IQR over 10% of the
    median), and stderr's one line counts them; returns how many rows were noisy."""
    runs = pd.read_csv(run_dir / "runs.csv")
    steps = pd.read_csv(run_dir / "samples.csv").query("metric == 'step_ms' and not warmup")
    for row in runs.to_dict("records"):
        values = steps[(steps.task == row["task"]) & (steps.cell == row["cell"]) & (steps.seed == row["seed"])]["value"]
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        assert row["step_ms_noisy"] == bool((q3 - q1) / median > 0.10), (row["task"], row["cell"], row["seed"])
    noisy = int(runs["step_ms_noisy"].sum())
    lines = [line for line in stderr.splitlines() if "noisy step times" in line]
    assert len(lines) == (1 if noisy else 0), stderr
    if noisy:
        assert f"{noisy} of {len(runs)} rows had noisy step times" in lines[0]
    return noisy


def test_noise_flags_follow_the_step_samples(measured_run: tuple[Path, str]) -> None:
    assert_noise_flagged_and_summed_up(*measured_run)  # on a quiet machine: no row noisy and no line


def test_noisy_rows_are_summed_up_in_one_line(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "jittery.py").write_text(JITTERY_PLUGIN)
    result = invoke("run", "--tasks", "apple", "--cells", "rnn,jittery", "--epochs", 12, "--threads", "1", "--device",
                    "cpu", "--plugins-dir", plugins, "--no-report", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert assert_noise_flagged_and_summed_up(only_run_dir(tmp_path / "out"), result.stderr) >= 1


def test_meta_has_every_field(run_dir: Path) -> None:
    meta = json.loads((run_dir / "meta.json").read_text())
    assert set(META_FIELDS) <= set(meta)
    assert meta["threads"] == 1 and meta["device"] == "cpu" and isinstance(meta["argv"], list)
    assert meta["cores"] >= 1 and meta["cpu"]


def curve_of(out: Path, seed: str) -> pd.DataFrame:
    result = invoke("run", "--tasks", "ship", "--cells", "rnn", "--seeds", seed, "--epochs", "5", "--threads", "1",
                    "--device", "cpu", "--out", out)
    assert result.exit_code == 0, result.stderr
    curves = pd.read_csv(only_run_dir(out) / "curves.csv")
    return curves[curves.metric.isin(["loss", "accuracy"])].drop(columns=KEY_COLUMNS)


def test_same_seed_gives_the_same_losses(tmp_path: Path) -> None:
    first, again = curve_of(tmp_path / "a", "3"), curve_of(tmp_path / "b", "3")
    assert first["value"].tolist() == again["value"].tolist()
    other = curve_of(tmp_path / "c", "4")
    assert first["value"].tolist() != other["value"].tolist()


def test_explicit_target_changes_time_to_target(bench, tmp_path: Path) -> None:
    result = bench("run", "--tasks", "apple", "--cells", "rnn", "--target", "0.4", "--epochs", "30", "--device", "cpu",
                   "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    row = pd.read_csv(only_run_dir(tmp_path) / "runs.csv").iloc[0]
    curves = pd.read_csv(only_run_dir(tmp_path) / "curves.csv")
    accuracy = curves[curves.metric == "accuracy"].set_index("epoch")["value"]
    assert row["target"] == 0.4
    assert row["epochs_to_target"] == accuracy[accuracy >= 0.4].index[0]


@pytest.mark.parametrize("option,value,message", [("--target", "1.5", "--target"), ("--target", "0", "--target"),
                                                  ("--threads", "0", "--threads")])
def test_bad_measurement_options_exit_2(bench, option: str, value: str, message: str) -> None:
    assert_bad_input(bench("run", "--tasks", "apple", option, value), message)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available on this machine")
def test_cuda_run_is_measured_on_the_gpu(bench, tmp_path: Path) -> None:
    result = bench("run", "--tasks", "ship", "--cells", "rnn", "--epochs", "5", "--device", "cuda", "--out",
                   str(tmp_path))
    assert result.exit_code == 0, result.stderr
    row = pd.read_csv(only_run_dir(tmp_path) / "runs.csv").iloc[0]
    meta = json.loads((only_run_dir(tmp_path) / "meta.json").read_text())
    assert row["status"] == "ok" and row["device"] == "cuda"
    # The allocator's peak: the model, one-hot data and Adam state of a 3250-parameter model, far below 1 GiB.
    assert 0 < row["peak_memory_mb"] < 1024
    assert row["infer_ms_median"] > 0 and meta["device_name"] != "cpu"
