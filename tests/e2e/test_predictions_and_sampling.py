"""What a trained model learned: the prediction column, checkpoints (--save-models) and `bench sample`."""
from __future__ import annotations

import html
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from benchsuite.checkpoints import ModelState, read_model, write_model
from benchsuite.checkpoints.sampling import sample_text
from benchsuite.results.schema import NEUTRAL_SETTINGS
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
    readable = ["apple-numpy-rnn-numpy-1L-uni-h5-lr0.1-batch_size1-max_epochs100-seed0-",
                "apple-rnn-torch-1L-uni-h5-lr0.1-batch_size1-max_epochs100-seed0-"]
    assert [re.sub(r"[0-9a-f]{12}\.(npz|pt)$", "", name) for name in names] == readable
    saved = torch.load(apple_run / "models" / names[1], weights_only=True)
    assert saved["vocab"] == sorted(set("apple!")) and saved["config"]["cell"] == "rnn"
    with np.load(apple_run / "models" / names[0]) as arrays:
        # nn.RNN's state-dict names, as the numpy cell contract asks, and the head's.
        assert {"layer.weight_ih_l0", "layer.weight_hh_l0", "head.weight", "head.bias"} <= set(arrays.files)
        assert arrays["layer.weight_ih_l0"].shape == (5, 5)


def model_key(task: str, cell: str, **settings: float) -> dict:
    return {"task": task, "cell": cell, "backend": "numpy", "num_layers": 1, "bidirectional": False,
            "hidden_size": 4, "lr": 0.1, "batch_size": 1, "max_epochs": 3, **NEUTRAL_SETTINGS,
            "device": "cpu", "seed": 0, **settings}


def test_model_files_are_one_per_row_key_and_within_the_file_name_limit(tmp_path: Path) -> None:
    """Task t with cell c-k against task t-c with cell k, and 64-character names with long float settings: every
    model is written and read back as itself."""
    long, floats = "x" * 64, {"clip": 0.12345678901234568, "weight_decay": 1.2345678901234567e-05}
    keys = [model_key("t", "c-k"), model_key("t-c", "k"),
            model_key(long, long[:-1] + "y", lr=0.1 + 3e-17 * 3, **floats),
            model_key(long, long[:-1] + "y", lr=0.12345678901234568, **floats)]
    paths = []
    for number, key in enumerate(keys):
        config = {**key, "marker": number}
        paths.append(write_model(tmp_path, ModelState({"w": np.zeros(2)}, ["a"], config)))
    assert len(set(paths)) == len(keys)
    assert [read_model(path).config["marker"] for path in paths] == list(range(len(keys)))
    assert max(len(path.name) for path in paths) < 200


@pytest.mark.parametrize("cell", ["rnn", "numpy-rnn"])
def test_greedy_sampling_from_a_reloaded_apple_model_writes_pple(apple_run: Path, cell: str) -> None:
    result = invoke("sample", str(apple_run), "--cell", cell, "--prime", "a", "--length", "5", "--temperature", "0")
    assert result.exit_code == 0, result.output
    assert result.stdout == "apple!\n"


def test_a_model_can_be_named_by_its_file(apple_run: Path) -> None:
    (stem,) = [path.stem for path in (apple_run / "models").glob("*.pt")]
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


def forged(apple_run: Path, tmp_path: Path, edit) -> Path:
    """The apple rnn checkpoint after `edit(saved)`, in a file of its own."""
    (original,) = (apple_run / "models").glob("*.pt")
    saved = torch.load(original, weights_only=True)
    edit(saved)
    path = tmp_path / "forged.pt"
    torch.save(saved, path)
    return path


def _reshape(saved: dict) -> None:
    saved["state_dict"]["layer.weight_hh_l0"] = torch.zeros(3, 3)


def _drop(saved: dict) -> None:
    del saved["state_dict"]["layer.weight_hh_l0"]


def _nan(saved: dict) -> None:
    saved["state_dict"]["layer.weight_ih_l0"][0, 0] = math.nan


def _huge(saved: dict) -> None:
    saved["config"]["hidden_size"] = 10 ** 9


def _no_hidden(saved: dict) -> None:
    del saved["config"]["hidden_size"]


@pytest.mark.parametrize("edit,fragment", [(_reshape, "size mismatch for layer.weight_hh_l0"),
                                           (_drop, "Missing key(s)"),
                                           (_nan, "not finite numbers in layer.weight_ih_l0"),
                                           (_huge, "not the (5, 1000000000)"), (_no_hidden, "lacks a usable")])
def test_a_checkpoint_that_does_not_fit_is_one_message(apple_run: Path, tmp_path: Path, edit, fragment) -> None:
    path = forged(apple_run, tmp_path, edit)
    assert_bad_input(invoke("sample", apple_run, "--model", path, "--prime", "a"), str(path), fragment)


def test_a_pickled_object_is_refused_without_advice_to_unpickle_it(apple_run: Path, tmp_path: Path) -> None:
    path = tmp_path / "object.pt"
    torch.save({"state_dict": {}, "vocab": ["a"], "config": Path("x")}, path)
    line = assert_bad_input(invoke("sample", apple_run, "--model", path), "not a readable benchsuite model")
    assert "weights_only" not in line


@pytest.mark.parametrize("option", [("--temperature", "nan"), ("--temperature", "inf"), ("--seed", "-1")])
def test_bad_draw_settings_are_one_message(apple_run: Path, option: tuple[str, str]) -> None:
    assert_bad_input(invoke("sample", apple_run, "--cell", "rnn", "--prime", "a", *option), option[0])


def test_a_sample_is_drawn_as_it_is_read() -> None:
    """The first character comes before the rest are drawn: `--length 10**9` shows output at once."""
    calls = []

    class Counting:
        def logits(self, codes: np.ndarray) -> np.ndarray:
            calls.append(codes)
            return np.zeros((1, codes.shape[1], 2))

    characters = sample_text(Counting(), ["a", "b"], "a", 10 ** 9, 0.0, 0, 4)
    assert next(characters) == "a" and len(calls) == 1


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


def test_a_run_folder_never_names_the_code_that_reads_it(apple_run: Path, tmp_path: Path) -> None:
    """meta.json names a --plugins-dir whose file leaves a marker when imported: sample, report and best read the
    folder without importing it; the same folder given on the command line is loaded."""
    run_dir = tmp_path / "run"
    shutil.copytree(apple_run, run_dir)
    planted, marker = tmp_path / "planted", tmp_path / "imported"
    planted.mkdir()
    (planted / "evil.py").write_text(f"open({str(marker)!r}, 'a').write('x')\n")
    meta = json.loads((run_dir / "meta.json").read_text())
    (run_dir / "meta.json").write_text(json.dumps({**meta, "options": {**meta["options"],
                                                                         "plugins_dir": str(planted)}}))
    for command in (("sample", run_dir, "--cell", "rnn", "--length", "3"), ("report", run_dir), ("best", run_dir)):
        result = invoke(*command)
        assert result.exit_code == 0, result.output
        assert not marker.exists(), command
    assert invoke("sample", run_dir, "--cell", "rnn", "--length", "3", "--plugins-dir", planted).exit_code == 0
    assert marker.exists()


def test_the_report_shows_predictions_and_a_sample_per_variant(apple_run: Path) -> None:
    result = invoke("report", str(apple_run))
    assert result.exit_code == 0, result.output
    report = (apple_run / "summary.md").read_text()
    assert "- rnn 1L uni h5 seed 0: `pple!`" in report and "- numpy-rnn 1L uni h5 seed 0: `pple!`" in report
    blocks = report.split("Samples from the saved models")[1].split("```")
    samples = blocks[1::2]  # the fenced blocks' contents, one per variant
    assert len(samples) == 2 and all(sample.strip().startswith("apple") for sample in samples)
    page = html.unescape((apple_run / "report.html").read_text())  # report.html shows the same, as text
    for variant in ("rnn 1L uni h5", "numpy-rnn 1L uni h5"):
        assert f"<li>{variant} seed 0: <code>pple!</code></li>" in page
    assert all(f"<pre><code>{sample.strip()}\n</code></pre>" in page for sample in samples)
