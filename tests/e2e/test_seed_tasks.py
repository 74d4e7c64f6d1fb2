"""The notebook's two experiments, trained through `bench run`: convergence, parameter counts, skips."""
from __future__ import annotations

import pandas as pd
import pytest

import benchsuite

GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def expected_params(cell: str, vocab: int, hidden: int, layers: int, directions: int = 1) -> int:
    """Trainable parameters counted by hand: per layer and direction, gates x (W_ih + W_hh + two biases), plus head."""
    total = 0
    for layer in range(layers):
        inputs = vocab if layer == 0 else hidden * directions
        total += directions * GATES[cell] * (hidden * inputs + hidden * hidden + 2 * hidden)
    return total + vocab * hidden * directions + vocab


@pytest.fixture(scope="module")
def seed_grid(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("results")
    return benchsuite.run(tasks="apple,ship", cells="rnn,lstm,gru", layers="1,2", device="cpu", out=str(out))


def test_every_variant_trains_ok(seed_grid: pd.DataFrame) -> None:
    assert len(seed_grid) == 2 * 3 * 2
    assert set(seed_grid["status"]) == {"ok"}, seed_grid[["task", "cell", "status", "error"]]


def test_one_layer_cells_learn_apple_exactly(seed_grid: pd.DataFrame) -> None:
    apple = seed_grid[(seed_grid.task == "apple") & (seed_grid.num_layers == 1)]
    assert list(apple["accuracy"]) == [1.0, 1.0, 1.0]


def test_two_layer_gated_cells_reach_notebook_accuracy_on_ship(seed_grid: pd.DataFrame) -> None:
    ship = seed_grid[(seed_grid.task == "ship") & (seed_grid.num_layers == 2) & seed_grid.cell.isin(["lstm", "gru"])]
    assert len(ship) == 2
    assert (ship["accuracy"] >= 0.89).all(), ship[["cell", "accuracy"]]


def test_parameter_counts_match_hand_count(seed_grid: pd.DataFrame) -> None:
    sizes = {"apple": (5, 5), "ship": (25, 25)}
    for row in seed_grid.to_dict("records"):
        vocab, hidden = sizes[row["task"]]
        assert row["params"] == expected_params(row["cell"], vocab, hidden, row["num_layers"]), row


# The parameter counts torch reports for the seed notebook's own models (apple: 5 symbols, hidden 5; ship: 25, 25).
NOTEBOOK_PARAMS = {("apple", "rnn", 1): 90, ("apple", "lstm", 1): 270, ("apple", "gru", 1): 210,
                   ("ship", "rnn", 1): 1950, ("ship", "rnn", 2): 3250, ("ship", "lstm", 2): 11050,
                   ("ship", "gru", 2): 8450}


def test_parameter_counts_match_the_notebook_models(seed_grid: pd.DataFrame) -> None:
    recorded = {(row["task"], row["cell"], row["num_layers"]): row["params"] for row in seed_grid.to_dict("records")}
    assert {variant: recorded[variant] for variant in NOTEBOOK_PARAMS} == NOTEBOOK_PARAMS


def test_hand_count_agrees_with_torch_modules() -> None:
    from torch import nn

    for name, layer in (("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)):
        for layers in (1, 2):
            for directions in (1, 2):
                model = nn.ModuleList([layer(7, 6, num_layers=layers, bidirectional=directions == 2),
                                       nn.Linear(6 * directions, 7)])
                counted = sum(p.numel() for p in model.parameters())
                assert counted == expected_params(name, 7, 6, layers, directions)


def test_bidirectional_variants_on_causal_tasks_are_skipped_with_reason(tmp_path) -> None:
    table = benchsuite.run(tasks="apple,ship", cells="rnn", directions="uni,bi", epochs=2, device="cpu",
                           out=str(tmp_path))
    bi = table[table.bidirectional]
    assert len(bi) == 2 and set(bi["status"]) == {"skipped"}
    assert all("causal" in reason for reason in bi["error"])
    assert set(table[~table.bidirectional]["status"]) == {"ok"}


def test_task_data_matches_the_notebook() -> None:
    apple = benchsuite.get_task("apple").build()
    assert "".join(apple.vocab[i] for i in apple.x_train[0]) == "apple"
    assert "".join(apple.vocab[i] for i in apple.y_train[0]) == "pple!"
    assert len(apple.vocab) == 5
    ship = benchsuite.get_task("ship").build()
    assert ship.x_train.shape == ship.y_train.shape == (170, 10)
    assert len(ship.vocab) == 25
    # Each target window is the input window shifted by one character.
    assert (ship.x_train[1:, :] == ship.y_train[:-1, :]).all()
