"""Selective copying (Gu and Dao 2023, the Mamba paper; used by Feng et al. 2024 for minGRU's depth): pure NumPy, no
model code.

Layout of one row, for `noise_steps` L, `num_tokens` M and a vocabulary of V codes (code 0 the noise token, 1..V-2
the data tokens, V-1 the marker):
- positions 0 .. L+M-1, the region: M data tokens, drawn uniformly from 1..V-2 (repeats allowed), at M distinct
  positions drawn uniformly; noise (0) everywhere else in it;
- positions L+M .. L+2M-1: M markers.
Targets: IGNORED over the region; at the k-th marker, the k-th data token of the region in order. A causal model
must have kept the tokens, and only them, by the time the markers come. This is Mamba's layout (noise-padded
region, then markers; the outputs read at the last M steps); its small CPU setting is L 64, M 4, V 6.
"""
from __future__ import annotations

import numpy as np

from benchsuite import BenchInputError

from .mqar import distinct_uniform
from .splits import IGNORED

NOISE = 0


def marker(vocab_size: int) -> int:
    """The marker code: the last one of the vocabulary."""
    return vocab_size - 1


def copy_tapes(tokens: np.ndarray, positions: np.ndarray, noise_steps: int,
               vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows for given draws (both (count, M); positions increasing along a row): inputs (count, L + 2M) and targets,
    laid out as the module says."""
    count, num_tokens = tokens.shape
    region = noise_steps + num_tokens
    x = np.full((count, region + num_tokens), NOISE, dtype=np.int64)
    x[np.arange(count)[:, None], positions] = tokens
    x[:, region:] = marker(vocab_size)
    y = np.full(x.shape, IGNORED, dtype=np.int64)
    y[:, region:] = tokens
    return x, y


def selective_copy(rng: np.random.Generator, num_examples: int, noise_steps: int = 64, num_tokens: int = 4,
                   vocab_size: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """`num_examples` fresh rows: x (num_examples, noise_steps + 2·num_tokens) codes and y, the data tokens in order
    under the markers and IGNORED elsewhere."""
    if num_examples < 1 or num_tokens < 1 or noise_steps < 0:
        raise BenchInputError(f"selective_copy: need num_examples >= 1, num_tokens >= 1 and noise_steps >= 0, got "
                              f"{num_examples}, {num_tokens}, {noise_steps}")
    if vocab_size < 3:
        raise BenchInputError(f"selective_copy: vocab_size={vocab_size} leaves no data token beside the noise and "
                              "the marker; use vocab_size >= 3")
    tokens = rng.integers(1, marker(vocab_size), size=(num_examples, num_tokens))
    positions = np.sort(distinct_uniform(rng, num_examples, num_tokens, 0, noise_steps + num_tokens), axis=1)
    return copy_tapes(tokens, positions, noise_steps, vocab_size)
