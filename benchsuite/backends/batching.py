"""Which samples each step trains on: all of them, or mini-batches, shuffled by (seed, epoch) for training."""
from __future__ import annotations

from typing import Union

import numpy as np

Indices = Union[np.ndarray, slice]  # selects a batch's samples from a split's arrays


def epoch_batches(samples: int, batch_size: int | None, seed: int, epoch: int) -> list[Indices] | None:
    """Index arrays of one epoch's shuffled mini-batches, or None for one full batch in the data's own order.

    The shuffle depends only on (seed, epoch), so every backend (and a resumed run) sees the same batches.
    """
    if batch_size is None or batch_size >= samples:
        return None
    order = np.random.default_rng((seed, epoch)).permutation(samples)
    return [order[start:start + batch_size] for start in range(0, samples, batch_size)]


def split_batches(samples: int, batch_size: int | None) -> list[Indices] | None:
    """Consecutive slices of `batch_size` samples, for evaluation; None for the whole split at once."""
    if batch_size is None or batch_size >= samples:
        return None
    return [slice(start, start + batch_size) for start in range(0, samples, batch_size)]
