"""Matched capacity (`--params N`) and the `state_size` column, checked against models built directly with torch."""
from __future__ import annotations

import pytest
import torch

import benchsuite
from benchsuite.planning.capacity import matched_hidden
from benchsuite.planning.tasks import build_task
from benchsuite.registry.loading import get_registry
from helpers.cli import assert_bad_input, invoke

TARGET = 3000
KINDS = {"rnn": (torch.nn.RNN, 1), "lstm": (torch.nn.LSTM, 2), "gru": (torch.nn.GRU, 1)}  # states per layer


def torch_count(cell: str, vocab: int, hidden: int, layers: int) -> int:
    """Parameters of torch's own layer of that size plus a linear head over the vocabulary."""
    layer = KINDS[cell][0](vocab, hidden, num_layers=layers, batch_first=True)
    head = torch.nn.Linear(hidden, vocab)
    return sum(p.numel() for module in (layer, head) for p in module.parameters())


@pytest.fixture(scope="module")
def ship_rows(tmp_path_factory):
    out = tmp_path_factory.mktemp("capacity")
    return benchsuite.run(tasks="ship", cells="rnn,lstm,gru,numpy-rnn", params=TARGET, epochs=1, threads=1,
                          out=str(out))


def test_params_3000_on_ship_comes_within_5_percent_for_every_cell(ship_rows):
    assert (ship_rows["status"] == "ok").all()
    for row in ship_rows.to_dict("records"):
        assert abs(row["params"] - TARGET) <= 0.05 * TARGET, row
        assert row["params_target"] == TARGET


def test_the_chosen_hidden_size_is_the_closest_by_torchs_own_count(ship_rows):
    vocab = len(build_task(get_registry().task("ship"), {}).vocab)
    for row in ship_rows[ship_rows["cell"].isin(list(KINDS))].to_dict("records"):
        hidden, layers = row["hidden_size"], row["num_layers"]
        assert torch_count(row["cell"], vocab, hidden, layers) == row["params"]
        for other in (hidden - 1, hidden + 1):  # no neighbour is closer to the target
            assert abs(torch_count(row["cell"], vocab, other, layers) - TARGET) >= abs(row["params"] - TARGET)


def test_state_size_counts_h_n_and_an_lstms_cell_state(ship_rows):
    for row in ship_rows.to_dict("records"):
        layer = KINDS.get(row["cell"], (None, 1))[0]
        states = 2 if layer is torch.nn.LSTM else 1
        assert row["state_size"] == states * row["num_layers"] * row["hidden_size"]


def test_an_unreachable_target_takes_the_closest_and_says_so(tmp_path):
    spec = get_registry().cell("rnn")
    data = build_task(get_registry().task("apple"), {})
    match = matched_hidden(spec, 1, False, data, 10)  # below even hidden size 1
    assert match.hidden_size == 1 and not match.close
    result = invoke("run", "--tasks", "apple", "--cells", "rnn", "--params", "10", "--epochs", "1", "--out", tmp_path,
                    "--no-report", "--quiet")
    assert result.exit_code == 0, result.output
    assert f"--params 10: apple rnn 1L uni comes no closer than {match.params} parameters (hidden 1)" in result.stderr


def test_params_and_hidden_together_is_bad_input(tmp_path):
    assert_bad_input(invoke("run", "--tasks", "apple", "--params", "100", "--hidden", "4"),
                     "give --params or --hidden, not both")


def test_params_matches_the_model_the_backbone_knobs_and_cell_options_build(tmp_path):
    """Under block with mlp=none and a tied head, an expanded minGRU: the chosen width's hand count is the row's
    count, and no neighbouring width comes closer to the target."""
    vocab = len(build_task(get_registry().task("ship"), {}).vocab)
    expansion = 2.0

    def hand_count(d: int) -> int:
        inner = round(expansion * d)
        mixer = d * 2 * inner + 2 * inner + inner * d + d  # fused gate/candidate Linear, output projection
        # tied embedding and head (no head bias); per block an RMSNorm weight and the mixer, no MLP; a final RMSNorm
        return vocab * d + (d + mixer) + d

    rows = benchsuite.run(tasks="ship", cells="mingru", backbone="block", backbone_opts={"mlp": "none", "tie": "true"},
                          cell_opts={"mingru": {"expansion": str(expansion)}}, layers="1", params=TARGET, epochs=1,
                          threads=1, out=str(tmp_path)).runs
    row = rows.iloc[0]
    hidden = int(row["hidden_size"])
    assert row["status"] == "ok" and row["params"] == hand_count(hidden)
    for other in (hidden - 1, hidden + 1):
        assert abs(hand_count(other) - TARGET) >= abs(hand_count(hidden) - TARGET)


def test_params_keeps_to_the_hidden_sizes_a_cells_options_allow(tmp_path):
    rows = benchsuite.run(tasks="ship", cells="transformer", cell_opts={"transformer": {"heads": "3"}}, layers="1",
                          params=TARGET, epochs=1, threads=1, out=str(tmp_path)).runs
    assert rows.iloc[0]["status"] == "ok"
    assert rows.iloc[0]["hidden_size"] % 3 == 0
