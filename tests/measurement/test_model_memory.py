"""What the model itself costs: param_bytes, optimizer_bytes (Adam's state) and activation_bytes (what one training
step keeps for backward), against hand counts."""
from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch import nn

from benchsuite.backbones import open_session
from benchsuite.backends import TrainingSettings
from benchsuite.backends.torch_backend import saved_tensor_bytes
from benchsuite.registry.loading import get_registry
from benchsuite.specs import CellConfig
from benchsuite_plugins.tasks.seed_tasks import SHIP_SENTENCE, build_ship
from helpers.cli import invoke
from helpers.runs import only_run_dir

FLOAT32, FLOAT64 = 4, 8
GATES = {"rnn": 1, "numpy-rnn": 1, "gru": 3, "lstm": 4}


@pytest.mark.parametrize("batch,steps,inputs,hidden", [(3, 5, 7, 4), (2, 11, 3, 6)])
def test_activation_bytes_of_nn_rnn_match_a_hand_count(batch, steps, inputs, hidden):
    torch.manual_seed(0)
    rnn = nn.RNN(inputs, hidden, batch_first=True)
    x = torch.randn(batch, steps, inputs)
    measured = saved_tensor_bytes(lambda: rnn(x)[0].sum(), rnn.parameters())
    # On the CPU, nn.RNN keeps its input (as one time-major copy), the initial state and each step's tanh output
    # (the next step's previous state is that same tensor): float32 each; the weights are parameters, left out.
    assert measured == FLOAT32 * (batch * steps * inputs + (steps + 1) * batch * hidden)


def ship_two_layer_params(cell: str, hidden: int) -> int:
    """Parameters of a 2-layer cell and its linear head on ship, from the layer formulas."""
    vocab = len(set(SHIP_SENTENCE))
    per_layer = [GATES[cell] * hidden * (size + hidden + 2) for size in (vocab, hidden)]  # two biases per gate
    return sum(per_layer) + hidden * vocab + vocab


@pytest.fixture(scope="module")
def ship_runs(tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("ship")
    result = invoke("run", "--tasks", "ship", "--cells", "rnn,lstm,gru,numpy-rnn", "--epochs", "3",
                                       "--device", "cpu", "--threads", "1", "--no-report", "--quiet", "--out",
                                       str(out))
    assert result.exit_code == 0, result.output
    return pd.read_csv(only_run_dir(out) / "runs.csv").set_index("cell")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "numpy-rnn"])
def test_param_and_adam_bytes_on_ship_match_a_hand_count(ship_runs, cell):
    row = ship_runs.loc[cell]
    params = ship_two_layer_params(cell, 25)
    if cell == "numpy-rnn":  # float64; the optimizer's state is its two moment vectors
        assert (row.param_bytes, row.optimizer_bytes) == (FLOAT64 * params, 2 * FLOAT64 * params)
    else:  # the backend's Adam: exp_avg and exp_avg_sq per parameter (its step counts are Python ints, no tensors)
        assert (row.param_bytes, row.optimizer_bytes) == (FLOAT32 * params, 2 * FLOAT32 * params)


def test_memory_columns_tell_the_torch_cells_apart(ship_runs):
    torch_rows = ship_runs.loc[["rnn", "lstm", "gru"]]
    for column in ("param_bytes", "optimizer_bytes", "activation_bytes"):
        assert torch_rows[column].is_unique, column
    # More gates keep more for backward.
    assert torch_rows.activation_bytes["rnn"] < torch_rows.activation_bytes["gru"] < torch_rows.activation_bytes["lstm"]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "numpy-rnn"])
def test_activation_bytes_grow_linearly_with_sequence_length(cell):
    spec = get_registry().cell(cell)
    figures = []
    for steps in (10, 20, 40, 80):
        data = build_ship(seq_len=steps)
        session = open_session(spec, CellConfig(len(data.vocab), 25, 2, False), data,
                               TrainingSettings(lr=0.1, batch_size=32))
        figures.append(session.footprint(next(iter(session.batches(1)))).activation_bytes)
    increments = [later - earlier for earlier, later in zip(figures, figures[1:])]
    # Each doubling of the length adds twice what the one before added (oneDNN's LSTM workspace is rounded up).
    assert increments[1] == pytest.approx(2 * increments[0], rel=0.05)
    assert increments[2] == pytest.approx(2 * increments[1], rel=0.05)
