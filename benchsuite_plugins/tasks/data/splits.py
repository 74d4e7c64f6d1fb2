"""What every generated diagnostic task shares: one random stream per split, padding, the chance share, lengths."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from benchsuite import TaskData
from benchsuite.specs import SPLITS

from ..task_options import DATA_SEED, rows_in

PAD = "_"
IGNORED = -1  # a negative target: loss and accuracy skip it

# A split's rows: inputs, targets and one slice value per row (None when the task has no slice).
Rows = tuple[np.ndarray, np.ndarray, "np.ndarray | None"]


def split_rng(split: str) -> np.random.Generator:
    """An independent random stream per split: held-out rows never share draws with training rows."""
    return np.random.default_rng([DATA_SEED, SPLITS.index(split)])


def pad_rows(x: np.ndarray, y: np.ndarray, lengths: np.ndarray, pad_code: int) -> None:
    """In place: the pad symbol behind each row's length in `x`, ignored targets behind it in `y`."""
    behind = np.arange(x.shape[1]) >= lengths[:, None]
    x[behind] = pad_code
    y[behind] = IGNORED


def uniform_lengths(rng: np.random.Generator, count: int, shortest: int, longest: int) -> np.ndarray:
    """Row lengths drawn uniformly from shortest..longest, both included."""
    return rng.integers(shortest, longest + 1, size=count)


def majority_share(y: np.ndarray) -> float:
    """The accuracy of always answering the most common counted target: what guessing without the input reaches."""
    counted = y[y >= 0]
    return float(np.bincount(counted).max() / counted.size) if counted.size else float("nan")


def generated_task(vocab: Sequence[str], samples: int, make_split: Callable[[str, np.random.Generator, int], Rows],
                   slice_name: str | None = None) -> TaskData:
    """Train, valid and test rows, `make_split(split, rng, rows)` each from its own random stream; the chance
    share is taken on the test split.

    Every generated task's answer is a function of the inputs before it, so its ceiling is 1.
    """
    (x_train, y_train, _), (x_valid, y_valid, valid_slices), (x_test, y_test, test_slices) = (
        make_split(split, split_rng(split), rows_in(split, samples)) for split in SPLITS)
    return TaskData(list(vocab), x_train, y_train, x_valid, y_valid, ceiling=1.0, x_test=x_test, y_test=y_test,
                    valid_slices=valid_slices, test_slices=test_slices, slice_name=slice_name,
                    chance=majority_share(y_test))
