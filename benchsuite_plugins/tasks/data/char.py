"""Arrays for the char-level task plugins: encoding text, cutting windows, generated data, the causal ceiling."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from benchsuite import BenchInputError

ENCODE_CHUNK = 1 << 20  # characters encoded at a time, so a big corpus never exists as 4-byte code points at once


def random_words(rng: np.random.Generator, words: Sequence[str], length: int) -> str:
    """Words drawn uniformly at random, joined by spaces, cut to `length` characters."""
    mean_word = sum(map(len, words)) / len(words) + 1
    text = " ".join(rng.choice(words, size=int(length / mean_word * 1.2) + 8))
    while len(text) < length:
        text += " " + " ".join(rng.choice(words, size=8))
    return text[:length]


def masked_windows(codes: np.ndarray, seq_len: int, mask_fraction: float, mask_code: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Windows with each character masked at random: x shows the mask there, y holds the original only there."""
    windows = codes.reshape(-1, seq_len)
    masked = rng.random(windows.shape) < mask_fraction
    return np.where(masked, mask_code, windows), np.where(masked, windows, -1)


def recall_sequences(rng: np.random.Generator, count: int, gap: int, shortest: int, symbols: int,
                     distractors: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` sequences of gap + 2 codes: one symbol (codes below `symbols`) among distractors, then a cue.

    The symbol sits `shortest` to `gap` steps before the cue (the last code, symbols + distractors); the
    only target is at the cue and is the symbol.
    """
    recalled = rng.integers(symbols, size=count)
    x = rng.integers(symbols, symbols + distractors, size=(count, gap + 2))
    spans = rng.integers(shortest, gap + 1, size=count)
    x[np.arange(count), gap - spans] = recalled
    x[:, -1] = symbols + distractors
    y = np.full(x.shape, -1)
    y[:, -1] = recalled
    return x, y


def code_dtype(vocab_size: int) -> np.dtype:
    """The smallest integer type that indexes a vocabulary of this size (and that torch accepts)."""
    for dtype in (np.uint8, np.int16, np.int32):
        if vocab_size - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise ValueError(f"a vocabulary of {vocab_size} symbols is too large")


def encode(text: str, vocab: Sequence[str], dtype: np.dtype | type = np.int64) -> np.ndarray:
    """`text` as indices into `vocab` (every character must be in it); a big corpus wants `code_dtype`."""
    table = np.zeros(max(map(ord, vocab)) + 1, dtype=dtype)
    table[[ord(char) for char in vocab]] = np.arange(len(vocab))
    codes = np.empty(len(text), dtype=table.dtype)
    for start in range(0, len(text), ENCODE_CHUNK):
        piece = text[start:start + ENCODE_CHUNK]
        codes[start:start + len(piece)] = table[np.frombuffer(piece.encode("utf-32-le"), dtype=np.uint32)]
    return codes


def next_char_windows(codes: np.ndarray, seq_len: int, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Windows of `seq_len` codes starting every `stride` codes, and as targets the same windows moved on by one."""
    rows = np.lib.stride_tricks.sliding_window_view(codes, seq_len + 1)[::stride]
    return rows[:, :-1].copy(), rows[:, 1:].copy()


def causal_window_ceiling(x: np.ndarray, y: np.ndarray) -> float:
    """The best accuracy any causal model can reach when each window starts from a fresh state.

    At step t a model has seen only x[:t+1] of its window, so the Bayes-optimal guess for every
    distinct prefix is the target that most often follows it; the ceiling is the share of targets
    those guesses get right. Negative (ignored) targets do not count.
    """
    x, y = np.asarray(x), np.asarray(y)
    right = counted = 0
    for t in range(x.shape[1]):
        keep = y[:, t] >= 0
        if not keep.any():
            continue
        pairs, pair_counts = np.unique(np.column_stack([x[keep, :t + 1], y[keep, t]]), axis=0, return_counts=True)
        # np.unique sorts the pairs, so every prefix's pairs are neighbours; number the prefixes in that order.
        _, prefix_ids = np.unique(pairs[:, :-1], axis=0, return_inverse=True)
        most = np.zeros(prefix_ids.max() + 1, dtype=np.int64)
        np.maximum.at(most, prefix_ids.reshape(-1), pair_counts)
        right += int(most.sum())
        counted += int(keep.sum())
    return right / counted if counted else float("nan")


def train_valid_split(codes: np.ndarray, train_fraction: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """nanoGPT's split: the first floor(train_fraction · n) codes train, the rest validates."""
    if not 0 < train_fraction < 1:
        raise BenchInputError(f"train_fraction: expected a share between 0 and 1, got {train_fraction}")
    start = int(len(codes) * train_fraction)
    return codes[:start], codes[start:]


def random_windows(codes: np.ndarray, rng: np.random.Generator, batch: int,
                   context: int) -> tuple[np.ndarray, np.ndarray]:
    """nanoGPT's batch: `batch` windows of `context` codes starting anywhere (uniformly) that leaves room for the
    next code, and as targets the same windows moved on by one."""
    if len(codes) < context + 1:
        raise BenchInputError(f"a window of context {context} needs {context + 1} codes, only {len(codes)} given")
    starts = rng.integers(0, len(codes) - context, size=batch)
    rows = starts[:, None] + np.arange(context + 1)
    windows = codes[rows]
    return windows[:, :-1], windows[:, 1:]
