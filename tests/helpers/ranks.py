"""Rank-test p-values worked out by hand, as oracles for the comparison's Mann-Whitney U (which calls scipy)."""
from __future__ import annotations

import itertools
import math
from collections import Counter
from typing import Sequence


def enumerated_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Exact two-sided p-value by trying every way of splitting the pooled values (small samples, no ties)."""
    pooled = sorted([*a, *b])
    assert len(set(pooled)) == len(pooled), "the enumeration assumes no ties"
    rank = {value: position + 1 for position, value in enumerate(pooled)}
    observed = sum(rank[value] for value in a)
    expected = len(a) * (len(pooled) + 1) / 2
    splits = list(itertools.combinations(range(1, len(pooled) + 1), len(a)))
    extreme = sum(1 for split in splits if abs(sum(split) - expected) >= abs(observed - expected) - 1e-9)
    return extreme / len(splits)


def normal_approximation_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value from the textbook large-sample formula: mid-ranks for ties, the tie-corrected variance
    of U, and a continuity correction of one half."""
    n_a, n_b = len(a), len(b)
    n = n_a + n_b
    pooled = sorted([*a, *b])
    first = {value: pooled.index(value) + 1 for value in set(pooled)}
    counts = Counter(pooled)
    mid_rank = {value: first[value] + (counts[value] - 1) / 2 for value in counts}
    u_a = sum(mid_rank[value] for value in a) - n_a * (n_a + 1) / 2
    u = max(u_a, n_a * n_b - u_a)  # the larger U: its upper tail, doubled
    ties = sum(t ** 3 - t for t in counts.values())
    sigma = math.sqrt(n_a * n_b / 12 * ((n + 1) - ties / (n * (n - 1))))
    z = (u - n_a * n_b / 2 - 0.5) / sigma
    return min(1.0, math.erfc(z / math.sqrt(2)))  # 2 * P(Z > z)
