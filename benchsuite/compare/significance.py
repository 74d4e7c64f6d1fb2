"""Is a difference between two sets of measurements real? Mann-Whitney U where the samples allow, intervals otherwise.

As airspeed velocity does: the rank test needs no assumption about the shape of timing noise. Its samples must be
independent, so for a run they are per-run figures (each seed's step-time median), never the steps of one run
pooled: steps share the run's machine state, and thousands of them make any drift "significant". With few runs
the test cannot reach the significance level at all (three seeds against three can never give p < 0.05, let alone
0.002): a timing then gets no verdict ("too few runs"), while losses and accuracies, reproducible from their seeds,
fall back to asking whether the two ranges overlap.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

DEFAULT_ALPHA = 0.002
TOO_FEW = "too-few-runs"


@dataclass(frozen=True)
class Measurement:
    """One figure on one side: its samples (per run, or per benchmark pass) and the interval they span."""

    values: tuple[float, ...]
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Measurement:
        return cls(tuple(values), min(values), max(values))

    @property
    def center(self) -> float:
        import statistics  # here, not at top: `bench --help` imports this module, statistics costs ~6 ms a start

        return statistics.median(self.values)


@dataclass(frozen=True)
class Evidence:
    """How a difference was judged: by `test` ("mann-whitney", "intervals", or TOO_FEW: not judged), with its
    p-value if any."""

    test: str
    significant: bool
    p_value: float | None = None


def smallest_p_value(n_a: int, n_b: int) -> float:
    """The smallest two-sided p-value an exact Mann-Whitney U test can return for these sample sizes.

    Reached when the two samples do not interleave at all: 2 of the C(n_a + n_b, n_a) equally likely
    rank orders are that extreme.
    """
    if n_a == 0 or n_b == 0:
        return 1.0
    return min(1.0, 2 / math.comb(n_a + n_b, n_a))


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value of `a` against `b` (1.0 when every value is the same)."""
    from scipy.stats import mannwhitneyu

    if len(set(a) | set(b)) == 1:  # no ranks to compare; scipy would warn about a zero variance
        return 1.0
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def judge(a: Measurement, b: Measurement, alpha: float = DEFAULT_ALPHA, timed: bool = False) -> Evidence:
    """Whether A and B differ: the rank test when it could reach `alpha`, else non-overlapping intervals.

    A timing from too few runs for the rank test gets no verdict: two runs of the same code never take the same
    time, and a handful of them cannot tell a change from the machine's mood (nor can the rounds of one pass).
    """
    if smallest_p_value(len(a.values), len(b.values)) < alpha:
        p_value = mann_whitney_p(a.values, b.values)
        return Evidence("mann-whitney", p_value < alpha, p_value)
    if timed:
        return Evidence(TOO_FEW, False)
    return Evidence("intervals", a.high < b.low or b.high < a.low)
