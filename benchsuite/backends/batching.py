"""Which rows of a split form each mini-batch: shared by the backends so they batch alike."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np


def is_full_batch(rows: int, batch_size: int | None) -> bool:
    """Whether one batch holds the whole split (no batch size, or one at least as large as the split)."""
    return batch_size is None or batch_size >= rows


def steps_per_epoch(rows: int, batch_size: int | None) -> int:
    """How many training batches one epoch has."""
    return 1 if is_full_batch(rows, batch_size) else -(-rows // batch_size)


def shuffled_batches(rows: int, batch_size: int, seed: int, epoch: int) -> Iterator[np.ndarray]:
    """The row indices of each training batch of one epoch.

    The order comes from a generator seeded from (seed, epoch), so a run is repeatable and every
    epoch sees its own order; the last batch holds what is left.
    """
    order = np.random.default_rng((seed, epoch)).permutation(rows)
    for start in range(0, rows, batch_size):
        yield order[start:start + batch_size]


def fresh_batches(sample_batch: Callable[[np.random.Generator, int], tuple[Any, Any]], steps: int, batch_size: int,
                  seed: int, epoch: int) -> Iterator[tuple[Any, Any]]:
    """`steps` new (x, y) batches from a task's sampler, drawn from a generator seeded from (seed, epoch), so a run
    is repeatable and no epoch sees another's data."""
    rng = np.random.default_rng((seed, epoch))
    for _ in range(steps):
        yield sample_batch(rng, batch_size)


def chunks(rows: int, batch_size: int) -> Iterator[slice]:
    """Consecutive slices of at most `batch_size` rows, for evaluating a big split piece by piece."""
    for start in range(0, rows, batch_size):
        yield slice(start, min(start + batch_size, rows))
