"""`numpy-rnn` trained by the numpy backend: the torch backend's loss curve from the same weights, and `bench run`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchsuite.backbones import open_session
from benchsuite.backends import TrainingSettings
from benchsuite.measurement.train import train
from benchsuite.registry.loading import get_registry
from benchsuite.results.files import read_csv_rows
from benchsuite.specs import CellConfig
from helpers.cli import invoke
from helpers.runs import only_run_dir


def start_from_torch_weights(numpy_session: object, torch_session: object) -> None:
    """Copy the torch session's initial weights into the numpy session, whose model's `params` use the same
    names."""
    state = torch_session.model.state_dict()
    assert sorted(state) == sorted(numpy_session.model.params)
    for name, value in state.items():
        numpy_session.model.params[name][...] = value.numpy()


@pytest.mark.usefixtures("one_thread")
# Clipping at 0.1 binds on apple's first 13 steps (gradient norms start near 0.65); weight decay is AdamW's.
@pytest.mark.parametrize("optimizer", [{}, {"clip": 0.1, "weight_decay": 0.1}], ids=["adam", "clipped-adamw"])
def test_numpy_backend_follows_torch_backend_loss_curve_on_apple(optimizer: dict) -> None:
    registry = get_registry()
    task = registry.task("apple")
    data = task.build()
    config = CellConfig(len(data.vocab), task.defaults["hidden_size"])
    settings = TrainingSettings(lr=task.defaults["lr"], **optimizer)
    torch_session = open_session(registry.cell("rnn"), config, data, settings)
    numpy_session = open_session(registry.cell("numpy-rnn"), config, data, settings)
    start_from_torch_weights(numpy_session, torch_session)

    torch_curve = train(torch_session, 100).curve
    numpy_curve = train(numpy_session, 100).curve

    # torch computes in float32 and numpy in float64; the curves still agree to 1e-6 over 100 epochs.
    np.testing.assert_allclose([r.loss for r in numpy_curve], [r.loss for r in torch_curve], rtol=0, atol=1e-6)
    assert [r.accuracy for r in numpy_curve] == [r.accuracy for r in torch_curve]
    assert numpy_curve[-1].loss < 0.01 * numpy_curve[0].loss


def _bench_rows(tmp_path: Path, *args: str) -> list[dict[str, str]]:
    result = invoke("run", "--device", "cpu", "--out", tmp_path, *args)
    assert result.exit_code == 0, result.output
    return read_csv_rows(only_run_dir(tmp_path) / "runs.csv")


@pytest.mark.usefixtures("one_thread")
def test_bench_run_numpy_rnn_learns_apple_and_ship(tmp_path: Path) -> None:
    rows = _bench_rows(tmp_path, "--tasks", "apple,ship", "--cells", "numpy-rnn", "--layers", "1")
    accuracy = {row["task"]: float(row["accuracy"]) for row in rows}
    assert [row["status"] for row in rows] == ["ok", "ok"], [row["error"] for row in rows]
    assert accuracy["apple"] == 1.0
    assert accuracy["ship"] >= 0.88


@pytest.mark.usefixtures("one_thread")
def test_bench_run_numpy_rnn_has_torch_rnn_parameter_counts(tmp_path: Path) -> None:
    rows = _bench_rows(tmp_path, "--tasks", "apple,ship", "--cells", "numpy-rnn,rnn", "--layers", "1,2",
                       "--epochs", "1")
    params = {(row["task"], row["cell"], int(row["num_layers"])): int(row["params"]) for row in rows}
    for (task, layers), count in {("apple", 1): 90, ("ship", 1): 1950, ("ship", 2): 3250}.items():
        assert params[task, "numpy-rnn", layers] == params[task, "rnn", layers] == count
