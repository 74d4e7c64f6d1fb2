"""Building a task's data from user options, and checking what a task plugin returned."""
from __future__ import annotations

from typing import Any, Mapping

from ..specs import SPLITS, TaskData, TaskSpec
from .parsers import convert_options as convert_plugin_options
from .parsers import signature_options


def task_options(spec: TaskSpec) -> dict[str, Any]:
    """The options a task accepts (its `build` keyword parameters) with their defaults (None if required)."""
    return signature_options(spec.build)


def convert_options(spec: TaskSpec, raw: Mapping[str, str]) -> dict[str, Any]:
    """Check user options against what the task accepts and convert them to its types."""
    return convert_plugin_options("--task-opt", "task", spec.name, spec.build, raw)


def check_task_data(name: str, data: Any, complete: bool = False) -> TaskData:
    """The data a task built, checked for what the core relies on; a broken task plugin gets a clear error
    (TypeError or ValueError naming the task). `complete` adds what the conformance kit demands of a finished
    plugin: distinct string symbols, samples in every split, something to predict, a ceiling in (0, 1]. Slices
    (one integer per row of a held-out split) and the chance share are checked whenever given."""
    if not isinstance(data, TaskData):
        raise TypeError(f"task {name!r}: build() must return benchsuite.TaskData, got {type(data).__name__}")
    vocab = list(data.vocab)
    if complete:
        if not (vocab and all(isinstance(symbol, str) for symbol in vocab)):
            raise ValueError(f"task {name!r}: vocab must be a list of strings")
        if len(set(vocab)) != len(vocab):
            raise ValueError(f"task {name!r}: vocab has repeated symbols; each index must mean one symbol")
        if not (data.ceiling is None or 0 < data.ceiling <= 1):
            raise ValueError(f"task {name!r}: ceiling must lie in (0, 1], got {data.ceiling}")
    for split in SPLITS:
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        where = f"task {name!r}, {split} split"
        if split != "train":
            _check_slices(where, split, getattr(data, f"{split}_slices"), x)
            if x is None and y is None:
                continue
        _check_split(where, split, x, y, len(vocab), complete)
    if not (data.chance is None or 0 <= data.chance <= 1):
        raise ValueError(f"task {name!r}: chance must lie in [0, 1] (an accuracy), got {data.chance}")
    return data


def _check_slices(where: str, split: str, slices: Any, x: Any) -> None:
    import numpy as np

    if slices is None:
        return
    if x is None:
        raise ValueError(f"{where}: {split}_slices given, but there is no {split} split to slice")
    slices = np.asarray(slices)
    if slices.ndim != 1 or len(slices) != len(x) or not np.issubdtype(slices.dtype, np.integer):
        raise ValueError(f"{where}: {split}_slices must hold one integer per row ({len(x)}), "
                         f"got shape {slices.shape} of {slices.dtype}")


def _check_split(where: str, split: str, x: Any, y: Any, vocab_size: int, complete: bool) -> None:
    import numpy as np

    if x is None or y is None:
        raise ValueError(f"{where}: x_{split} and y_{split} must be given together")
    x, y = np.asarray(x), np.asarray(y)
    for label, array in (("x", x), ("y", y)):
        if not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"{where}: {label}_{split} must hold integers indexing vocab, got dtype {array.dtype}")
    if x.ndim != 2 or x.shape != y.shape:
        raise ValueError(f"{where}: x_{split} and y_{split} must both have shape (N, T); got {x.shape} and {y.shape}")
    if complete and x.size == 0:
        raise ValueError(f"{where}: no samples")
    if x.size and (x.min() < 0 or x.max() >= vocab_size):
        raise ValueError(f"{where}: inputs must lie in 0..{vocab_size - 1} (the vocabulary), "
                         f"found {x.min()}..{x.max()}")
    if y.size and y.max() >= vocab_size:
        raise ValueError(f"{where}: targets must be below {vocab_size} (the vocabulary size) or negative to be "
                         f"ignored; found {y.max()}")
    if complete and not (y >= 0).any():
        raise ValueError(f"{where}: every target is negative (ignored), so nothing would be learned or measured")


def build_task(spec: TaskSpec, raw_options: Mapping[str, str]) -> TaskData:
    """The task's data built with the user's options, checked."""
    return check_task_data(spec.name, spec.build(**convert_options(spec, raw_options)))


def longest_sequence(data: TaskData) -> int:
    """The most time steps any sample of the task has (T of its widest split): what a cell is built for."""
    return max(len(x[0]) if len(x) else 0 for x in (data.x_train, data.x_valid) if x is not None)


def effective_defaults(spec: TaskSpec, data: TaskData) -> dict[str, Any]:
    """Hyperparameter defaults: the spec's, overridden by those the built data carries."""
    return {**spec.defaults, **data.defaults}
