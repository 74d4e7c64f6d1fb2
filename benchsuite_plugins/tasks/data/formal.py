"""Arrays for the formal-language tasks (Deletang et al. 2023): strings and the answer for every prefix.

Rows hold strings of different lengths, padded by the task; each label function answers for every prefix
of every row at once, and the task ignores what lies behind a row's end.
"""
from __future__ import annotations

import numpy as np

from .splits import IGNORED, Rows


def running_sum_labels(x: np.ndarray, modulus: int) -> np.ndarray:
    """The sum of the digits so far, mod `modulus` (parity is modulus 2 over the digits 0 and 1)."""
    return np.cumsum(x, axis=1) % modulus


def same_as_first_labels(x: np.ndarray) -> np.ndarray:
    """Even pairs: 1 where the count of ab and ba pairs so far is even, which is exactly when the prefix
    ends with the symbol it started with (every change of symbol is one such pair)."""
    return (x == x[:, :1]).astype(np.int64)


# Dyck labels, per prefix: complete and balanced, well formed with brackets still open, or broken for good.
BALANCED, OPEN, BROKEN = 0, 1, 2


def dyck_strings(rng: np.random.Generator, lengths: np.ndarray, width: int, depth: int, kinds: int) -> np.ndarray:
    """Bracket strings: codes 0..kinds-1 open a bracket of that kind, kinds..2*kinds-1 close one.

    A random walk that never nests deeper than `depth` and closes what it opened, so every prefix is well
    formed; then half the rows get one bracket, at a random place within their length, replaced by another,
    which breaks most of them (a stack tells which).
    """
    count = lengths.size
    rows = np.arange(count)
    stack = np.zeros((count, depth), dtype=np.int64)
    level = np.zeros(count, dtype=np.int64)
    x = np.empty((count, width), dtype=np.int64)
    for t in range(width):  # vectorised over rows; each step depends on the stack the last one left
        opens = (level == 0) | ((level < depth) & (rng.random(count) < 0.5))
        kind = rng.integers(0, kinds, size=count)
        closed = stack[rows, np.maximum(level - 1, 0)]
        stack[rows[opens], level[opens]] = kind[opens]
        x[:, t] = np.where(opens, kind, kinds + closed)
        level += np.where(opens, 1, -1)
    corrupt = rows[rng.random(count) < 0.5]
    place = (rng.random(corrupt.size) * lengths[corrupt]).astype(np.int64)
    x[corrupt, place] = (x[corrupt, place] + rng.integers(1, 2 * kinds, size=corrupt.size)) % (2 * kinds)
    return x


def dyck_labels(x: np.ndarray, kinds: int) -> np.ndarray:
    """BALANCED, OPEN or BROKEN for every prefix: a close must match the innermost open bracket."""
    count, width = x.shape
    rows = np.arange(count)
    stack = np.zeros((count, width + 1), dtype=np.int64)
    level = np.zeros(count, dtype=np.int64)
    broken = np.zeros(count, dtype=bool)
    labels = np.empty_like(x)
    for t in range(width):
        code = x[:, t]
        opens = code < kinds
        top = stack[rows, np.maximum(level - 1, 0)]
        broken |= ~opens & ((level == 0) | (top != code - kinds))
        stack[rows[opens], level[opens]] = code[opens]
        level += np.where(opens, 1, -1)
        labels[:, t] = np.where(broken, BROKEN, np.where(level == 0, BALANCED, OPEN))
    return labels


def reverse_rows(rng: np.random.Generator, lengths: np.ndarray, longest: int, symbols: int) -> Rows:
    """Words of the given lengths over codes 0..symbols-1, then as many delimiters (code symbols), scored with
    the word reversed; codes behind a row's 2 * length steps are left for the task to pad. Slice: the length."""
    count = lengths.size
    words = rng.integers(0, symbols, size=(count, longest))
    steps = np.arange(2 * longest)
    n = lengths[:, None]
    reading, answering = steps < n, (steps >= n) & (steps < 2 * n)
    x = np.where(reading, np.pad(words, ((0, 0), (0, longest))), symbols)
    source = np.clip(2 * n - 1 - steps, 0, longest - 1)  # the answer at step t is word[2n - 1 - t]
    y = np.where(answering, np.take_along_axis(words, source, axis=1), IGNORED)
    return x, y, lengths
