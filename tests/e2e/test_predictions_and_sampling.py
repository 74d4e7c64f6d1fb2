"""What a trained model learned: the prediction column, checkpoints (--save-models) and `bench sample`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from benchsuite_plugins.tasks.seed_tasks import SHIP_SENTENCE
from helpers.cli import assert_bad_input, invoke
from helpers.runs import only_run_dir

WINDOW = 10  # ship's windows



@pytest.fixture(scope="module")
def apple_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("apple")
    result = invoke("run", "--tasks", "apple", "--cells", "rnn,numpy-rnn", "--device", "cpu", "--threads", "1",
                    "--save-models", "--no-report", "--quiet", "--out", str(out))
    assert result.exit_code == 0, result.output
    return only_run_dir(out)


def test_apple_predicts_pple(apple_run: Path) -> None:
    runs = pd.read_csv(apple_run / "runs.csv", keep_default_na=False)
    assert list(runs["prediction"]) == ["pple!", "pple!"]


def test_each_ok_row_saves_its_model_in_its_backends_format(apple_run: Path) -> None:
    names = sorted(path.name for path in (apple_run / "models").iterdir())
    assert names == ["apple-numpy-rnn-numpy-1L-uni-h5-lr0.1-batch_size1-max_epochs100-seed0.npz",
                     "apple-rnn-torch-1L-uni-h5-lr0.1-batch_size1-max_epochs100-seed0.pt"]
    saved = torch.load(apple_run / "models" / names[1], weights_only=True)
    assert saved["vocab"] == sorted(set("apple!")) and saved["config"]["cell"] == "rnn"
    with np.load(apple_run / "models" / names[0]) as arrays:
        # nn.RNN's state-dict names, as the numpy cell contract asks, and the head's.
        assert {"layer.weight_ih_l0", "layer.weight_hh_l0", "head.weight", "head.bias"} <= set(arrays.files)
        assert arrays["layer.weight_ih_l0"].shape == (5, 5)


@pytest.mark.parametrize("cell", ["rnn", "numpy-rnn"])
def test_greedy_sampling_from_a_reloaded_apple_model_writes_pple(apple_run: Path, cell: str) -> None:
    result = invoke("sample", str(apple_run), "--cell", cell, "--prime", "a", "--length", "5", "--temperature", "0")
    assert result.exit_code == 0, result.output
    assert result.stdout == "apple!\n"


def test_a_model_can_be_named_by_its_file(apple_run: Path) -> None:
    stem = "apple-rnn-torch-1L-uni-h5-lr0.1-batch_size1-max_epochs100-seed0"
    for name in (stem, str(apple_run / "models" / f"{stem}.pt")):
        result = invoke("sample", str(apple_run), "--model", name, "--prime", "a", "--length", "5",
                        "--temperature", "0")
        assert result.stdout == "apple!\n", result.output
    assert_bad_input(invoke("sample", str(apple_run), "--model", "nothing"), "--model nothing: no such checkpoint file")


def test_sampling_is_repeatable_for_a_seed(apple_run: Path) -> None:
    args = ["sample", str(apple_run), "--cell", "rnn", "--prime", "ap", "--length", "30", "--temperature", "1.5"]
    first, again = invoke(*args, "--seed", "3"), invoke(*args, "--seed", "3")
    assert first.stdout == again.stdout and set(first.stdout.strip()) <= set("apple!")


def test_bad_sampling_choices_are_one_message(apple_run: Path, tmp_path: Path) -> None:
    assert_bad_input(invoke("sample", str(apple_run), "--prime", "a"), "2 saved models to choose from")
    assert_bad_input(invoke("sample", str(apple_run), "--cell", "rnn", "--prime", "axe"),
                     "--prime: 'x' not in the model's vocab")
    assert_bad_input(invoke("sample", str(apple_run), "--cell", "lstm"), "no saved model matches --cell lstm")
    (tmp_path / "runs.csv").write_text("")
    assert_bad_input(invoke("sample", str(tmp_path), "--cell", "rnn"),
                     "no saved models; run with --save-models to keep them")


def independent_greedy(checkpoint: Path, prime: str, length: int) -> str:
    """The continuation computed here from the saved file alone: nn.GRU and nn.Linear loaded by hand, each next
    character read from the last WINDOW characters, as ship's training windows are."""
    saved = torch.load(checkpoint, weights_only=True)
    vocab, config, state = saved["vocab"], saved["config"], saved["state_dict"]
    gru = nn.GRU(len(vocab), config["hidden_size"], num_layers=config["num_layers"], batch_first=True)
    head = nn.Linear(config["hidden_size"], len(vocab))
    gru.load_state_dict({name[len("layer."):]: value for name, value in state.items() if name.startswith("layer.")})
    head.load_state_dict({name[len("head."):]: value for name, value in state.items() if name.startswith("head.")})
    text = prime
    with torch.no_grad():
        for _ in range(length):
            codes = torch.tensor([[vocab.index(char) for char in text[-WINDOW:]]])
            output, _ = gru(nn.functional.one_hot(codes, len(vocab)).float())
            text += vocab[int(head(output)[0, -1].argmax())]
    return text


def test_a_saved_ship_model_continues_the_sentence_from_a_ten_character_prime(tmp_path: Path) -> None:
    result = invoke("run", "--tasks", "ship", "--cells", "gru", "--device", "cpu", "--threads", "1",
                    "--save-models", "--no-report", "--quiet", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    run_dir = only_run_dir(tmp_path)
    prime, rest = SHIP_SENTENCE[:WINDOW], SHIP_SENTENCE[WINDOW:]
    sampled = invoke("sample", str(run_dir), "--cell", "gru", "--prime", prime, "--length", str(len(rest)),
                     "--temperature", "0")
    assert sampled.exit_code == 0, sampled.output
    assert sampled.stdout == SHIP_SENTENCE + "\n"
    [checkpoint] = (run_dir / "models").iterdir()
    assert independent_greedy(checkpoint, prime, len(rest)) == SHIP_SENTENCE


def test_the_report_shows_predictions_and_a_sample_per_variant(apple_run: Path) -> None:
    result = invoke("report", str(apple_run))
    assert result.exit_code == 0, result.output
    report = (apple_run / "summary.md").read_text()
    assert "- rnn 1L uni h5 seed 0: `pple!`" in report and "- numpy-rnn 1L uni h5 seed 0: `pple!`" in report
    blocks = report.split("Samples from the saved models")[1].split("```")
    samples = blocks[1::2]  # the fenced blocks' contents, one per variant
    assert len(samples) == 2 and all(sample.strip().startswith("apple") for sample in samples)
