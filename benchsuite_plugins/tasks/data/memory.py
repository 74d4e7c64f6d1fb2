"""Arrays for the memory diagnostics: associative recall (MQAR), selective copying, induction heads.

Each generator draws `count` rows at once; codes index the vocabulary its task builds, and targets that are
not scored are negative.
"""
from __future__ import annotations

import numpy as np

from .splits import IGNORED, Rows


def random_subsets(rng: np.random.Generator, count: int, population: int, size: int) -> np.ndarray:
    """`count` rows of `size` distinct values from range(population), in random order."""
    return np.argsort(rng.random((count, population)), axis=1)[:, :size]


def recall_rows(rng: np.random.Generator, count: int, keys: int, values: int, kv_pairs: int, seq_len: int,
                queries: int) -> Rows:
    """MQAR: `n` key-value pairs (n uniform in 1..kv_pairs per row), then queries of min(queries, n) of the keys.

    Codes: keys 0..keys-1, values keys..keys+values-1, filler keys+values. Pairs come first, key then value;
    the queries sit at random places among filler in the rest of the row, each key queried at most once. The
    target at a query is its key's value; nothing else is scored. The slice is the row's pair count.
    """
    rows = np.arange(count)[:, None]
    queries = min(queries, kv_pairs)  # no row has more keys to ask about
    pairs = rng.integers(1, kv_pairs + 1, size=count)
    asked = np.minimum(pairs, queries)
    row_keys = random_subsets(rng, count, keys, kv_pairs)
    row_values = rng.integers(keys, keys + values, size=(count, kv_pairs))
    x = np.full((count, seq_len), keys + values)
    y = np.full((count, seq_len), IGNORED)
    in_row = np.arange(kv_pairs) < pairs[:, None]
    x[:, 0:2 * kv_pairs:2] = np.where(in_row, row_keys, x[:, 0:2 * kv_pairs:2])
    x[:, 1:2 * kv_pairs:2] = np.where(in_row, row_values, x[:, 1:2 * kv_pairs:2])
    # Query places: random positions after the row's pairs (earlier positions sort last); which pairs: a
    # random order of the row's own pairs (pairs it does not have sort last).
    after_pairs = np.arange(seq_len) >= 2 * pairs[:, None]
    places = np.argsort(np.where(after_pairs, rng.random((count, seq_len)), 2.0), axis=1)[:, :queries]
    chosen = np.argsort(np.where(in_row, rng.random((count, kv_pairs)), 2.0), axis=1)[:, :queries]
    live = np.arange(queries) < asked[:, None]
    query_rows = np.broadcast_to(rows, live.shape)[live]
    x[query_rows, places[live]] = row_keys[rows, chosen][live]
    y[query_rows, places[live]] = row_values[rows, chosen][live]
    return x, y, pairs


def copy_rows(rng: np.random.Generator, count: int, symbols: int, seq_len: int, tokens: int) -> Rows:
    """Selective copying: `tokens` data symbols at random places among noise, then emitted in order.

    Codes: data 0..symbols-1, noise symbols, delimiter symbols+1. The first seq_len - tokens steps hold the
    scattered tokens; the last `tokens` steps show the delimiter and are scored with the tokens in their order.
    """
    region = seq_len - tokens
    places = np.sort(random_subsets(rng, count, region, tokens), axis=1)
    data = rng.integers(0, symbols, size=(count, tokens))
    x = np.full((count, seq_len), symbols)
    x[np.arange(count)[:, None], places] = data
    x[:, region:] = symbols + 1
    y = np.full((count, seq_len), IGNORED)
    y[:, region:] = data
    return x, y, None


def induction_rows(rng: np.random.Generator, count: int, symbols: int, seq_len: int) -> Rows:
    """Induction heads: random symbols with a trigger placed twice; at the second, predict what followed the first.

    Codes: symbols 0..symbols-1, trigger symbols. The second trigger is the last step, the only scored one;
    the first sits uniformly in 0..seq_len-3, so the symbol after it always precedes the second trigger.
    """
    x = rng.integers(0, symbols, size=(count, seq_len))
    first = rng.integers(0, seq_len - 2, size=count)
    rows = np.arange(count)
    x[rows, first] = symbols
    x[:, -1] = symbols
    y = np.full((count, seq_len), IGNORED)
    y[:, -1] = x[rows, first + 1]
    return x, y, None
