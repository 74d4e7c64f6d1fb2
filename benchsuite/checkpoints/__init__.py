"""Trained models kept after a run (`--save-models`): one checkpoint file per ok row under `<run>/models/`, named by
the row key (sampling.py reads them back and generates text).

A torch model is saved with `torch.save` as `{"state_dict", "vocab", "config"}` (tensors, a list of strings and a
dict of plain values, so `torch.load(..., weights_only=True)` reads it); a numpy model as `.npz`, its arrays under
their state-dict names and vocab and config as JSON text under `__vocab__` and `__config__`. The worker that
trained the model hands its state back in the job outcome; the driver, the run folder's only writer, writes it.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..errors import BenchInputError
from ..results.files import replaced_atomically
from ..results.naming import direction_label
from ..results.schema import KEY_COLUMNS, SETTING_COLUMNS, is_neutral

MODELS_DIR = "models"
SUFFIXES = {"torch": ".pt", "numpy": ".npz"}
VOCAB_KEY, CONFIG_KEY = "__vocab__", "__config__"
UNSAFE = re.compile(r"[^A-Za-z0-9_.+=-]")  # anything else in a name becomes "_" in a file name
# A file name is at most 255 bytes: the readable part, "-", the hash, the suffix and the temporary name's
# ".{name}.{pid}.tmp" stay well within it.
READABLE_CHARS, KEY_HASH_CHARS = 160, 12


@dataclass
class ModelState:
    """A trained model as plain data: its arrays by state-dict name, its vocabulary, and its config (the row key,
    the input size, the training window length, and the start of the first training sample)."""

    state: dict[str, Any]
    vocab: list[str]
    config: dict[str, Any]
    source: str = "a model"  # the file it was read from, for messages

    @property
    def backend(self) -> str:
        return str(self.config["backend"])

    @property
    def key(self) -> dict[str, Any]:
        return {column: self.config[column] for column in KEY_COLUMNS}


def file_stem(key: Mapping[str, Any]) -> str:
    """The file name (without suffix) of a row's model: a readable part, e.g. `ship-lstm-torch-2L-uni-h25-lr0.1-
    batch_size170-max_epochs100-seed0` (a neutral clip or weight decay left out), cut to READABLE_CHARS, then a
    hash of the whole key. The hash keeps names unique where the readable part is not (task `t` with cell `c-k`
    against task `t-c` with cell `k`) or was cut; the cut keeps long names and settings within the file-name limit."""
    parts = [key["task"], key["cell"], key["backend"], f"{key['num_layers']}L", direction_label(key["bidirectional"]),
             f"h{key['hidden_size']}",
             *(f"{column}{key[column]}" for column in SETTING_COLUMNS if not is_neutral(column, key[column])),
             f"seed{key['seed']}"]
    readable = "-".join(UNSAFE.sub("_", str(part)) for part in parts)[:READABLE_CHARS]
    whole_key = json.dumps([[column, key[column]] for column in KEY_COLUMNS], default=str)
    return f"{readable}-{hashlib.sha256(whole_key.encode()).hexdigest()[:KEY_HASH_CHARS]}"


def write_model(run_dir: Path, model: ModelState) -> Path:
    """Write `model` under `run_dir/models/`, atomically; returns the file's path."""
    folder = run_dir / MODELS_DIR
    folder.mkdir(exist_ok=True)
    path = folder / (file_stem(model.key) + SUFFIXES[model.backend])
    with replaced_atomically(path) as temporary:
        if model.backend == "torch":
            import torch

            state = {name: torch.as_tensor(value) for name, value in model.state.items()}
            torch.save({"state_dict": state, "vocab": model.vocab, "config": model.config}, temporary)
        else:
            import numpy as np

            with open(temporary, "wb") as file:  # a file object: np.savez would add ".npz" to a path
                np.savez(file, **model.state, **{VOCAB_KEY: json.dumps(model.vocab),
                                                 CONFIG_KEY: json.dumps(model.config)})
    return path


def read_model(path: Path) -> ModelState:
    """A checkpoint written by `write_model`; anything else is a bad-input error naming the file."""
    try:
        if path.suffix == SUFFIXES["torch"]:
            import torch

            saved = torch.load(path, map_location="cpu", weights_only=True)
            return ModelState({name: value.numpy() for name, value in saved["state_dict"].items()},
                              list(saved["vocab"]), dict(saved["config"]), str(path))
        import numpy as np

        with np.load(path, allow_pickle=False) as saved:
            arrays = {name: saved[name] for name in saved.files if name not in (VOCAB_KEY, CONFIG_KEY)}
            return ModelState(arrays, json.loads(str(saved[VOCAB_KEY])), json.loads(str(saved[CONFIG_KEY])),
                              str(path))
    except pickle.UnpicklingError:  # torch's own message advises weights_only=False: running the file's code
        raise BenchInputError(f"{path}: not a readable benchsuite model (it holds objects other than tensors and "
                              "plain values, which are never unpickled)") from None
    except Exception as exc:  # torch, numpy and json each raise their own kinds for a damaged file
        raise BenchInputError(f"{path}: not a readable benchsuite model ({type(exc).__name__}: "
                              f"{one_line(exc)})") from None


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (torch's state-dict errors list one misfit a line)."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__


def saved_models(run_dir: Path) -> list[Path]:
    """The checkpoint files of a run, sorted by name (none when it was run without --save-models)."""
    folder = run_dir / MODELS_DIR
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.suffix in SUFFIXES.values())
