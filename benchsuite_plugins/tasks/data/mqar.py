"""Multi-query associative recall (MQAR) as Zoology (Arora et al. 2023, Figure 2) generates it: pure NumPy, no
model code.

Layout of one row of `seq_len` tokens, for `kv` key-value pairs and a vocabulary of V tokens:
- positions 0 .. 2kv-1, the context: k1 v1 k2 v2 ...; the keys are distinct tokens from 1..V/2-1, the values
  distinct tokens from V/2..V-1;
- key j is queried once, at position 2kv + 2·gap_j: the same key token again, never followed by its value;
- every other position holds token 0.
Targets: IGNORED everywhere except at each query position, where the target is the queried key's value. So a
causal model reading the key at step t must output its value at step t. This is Zoology's alignment: it builds
the sequence with the value's slot after each query (left 0) and shifts inputs and labels by one, which puts the
label on the step that reads the key.

Query gaps: gap_j in 0 .. (seq_len - 2kv)//2 - 1, drawn without replacement with probability proportional to
i^(a-1) for gap i-1 (a = 0.01: queries cluster right after the context), key 1 taking the first draw, key 2 the
second, and so on.
"""
from __future__ import annotations

import numpy as np

from benchsuite import BenchInputError

from .splits import IGNORED

NOISE = 0  # the token at every position that is neither context nor query
VOCAB_SIZE = 8192  # Zoology's vocabulary
POWER_A = 0.01  # Zoology's power-law exponent for query gaps


def distinct_uniform(rng: np.random.Generator, count: int, size: int, low: int, high: int) -> np.ndarray:
    """`count` rows of `size` distinct integers from low..high-1, uniform over ordered samples without replacement.

    Rows with a repeat are redrawn (a row of independent draws, kept only when its entries differ, is uniform
    over ordered distinct samples); when repeats would be common, a random order of the whole range is cut."""
    span = high - low
    if size * size > 4 * span:  # fewer than about one row in seven would come out distinct
        return rng.random((count, span)).argsort(axis=1)[:, :size] + low
    draws = rng.integers(low, high, size=(count, size))
    while True:
        ordered = np.sort(draws, axis=1)
        repeats = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not repeats.any():
            return draws
        draws[repeats] = rng.integers(low, high, size=(int(repeats.sum()), size))


def weighted_without_replacement(rng: np.random.Generator, weights: np.ndarray, count: int,
                                 size: int) -> np.ndarray:
    """`count` rows of `size` distinct indices into `weights`, in draw order: each draw picks among the indices
    not yet drawn with probability proportional to their weights.

    Vectorised by racing exponential clocks with rates `weights`: the order in which they ring is that draw order
    (Efraimidis and Spirakis 2006)."""
    clocks = rng.exponential(size=(count, len(weights))) / weights
    return clocks.argsort(axis=1)[:, :size]


def mqar_tapes(keys: np.ndarray, values: np.ndarray, gaps: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows for given draws (all (count, kv)): inputs (count, seq_len) and targets, laid out as the module says."""
    count, kv = keys.shape
    rows = np.arange(count)[:, None]
    x = np.full((count, seq_len), NOISE, dtype=np.int64)
    x[:, 0:2 * kv:2], x[:, 1:2 * kv:2] = keys, values
    queries = 2 * kv + 2 * gaps
    x[rows, queries] = keys
    y = np.full((count, seq_len), IGNORED, dtype=np.int64)
    y[rows, queries] = values
    return x, y


def mqar(rng: np.random.Generator, num_examples: int, seq_len: int = 64, num_kv_pairs: int = 4,
         vocab_size: int = VOCAB_SIZE, power_a: float = POWER_A) -> tuple[np.ndarray, np.ndarray]:
    """`num_examples` fresh MQAR rows: x (num_examples, seq_len) tokens and y, the value at each query position and
    IGNORED elsewhere."""
    kv, half = num_kv_pairs, vocab_size // 2
    if num_examples < 1 or kv < 1:
        raise BenchInputError(f"mqar: need num_examples >= 1 and num_kv_pairs >= 1, got {num_examples}, {kv}")
    if seq_len < 4 * kv:
        raise BenchInputError(f"mqar: seq_len={seq_len} is too short for {kv} pairs: the context takes 2·{kv} "
                              f"positions and the queries need {kv} gaps of two after it; use seq_len >= {4 * kv}")
    if kv > half - 1:
        raise BenchInputError(f"mqar: vocab_size={vocab_size} holds only {half - 1} keys (1..{half - 1}); "
                              f"{kv} pairs need vocab_size >= {2 * kv + 2}")
    if power_a <= 0:
        raise BenchInputError(f"mqar: power_a must be positive, got {power_a}")
    keys = distinct_uniform(rng, num_examples, kv, 1, half)
    values = distinct_uniform(rng, num_examples, kv, half, vocab_size)
    gap_weights = np.arange(1, (seq_len - 2 * kv) // 2 + 1) ** (power_a - 1)
    gaps = weighted_without_replacement(rng, gap_weights, num_examples, kv)
    return mqar_tapes(keys, values, gaps, seq_len)
