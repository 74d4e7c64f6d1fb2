"""Step-time statistics: warm-up excluded, median and interquartile range."""
from __future__ import annotations

import statistics
from typing import Sequence

# The first step pays one-off costs (allocator growth, lazy initialisation, kernel selection).
WARMUP_STEPS = 1


def steady_steps(step_seconds: Sequence[float]) -> Sequence[float]:
    """Step times without the warm-up; all of them when there are too few to drop any."""
    return step_seconds[WARMUP_STEPS:] if len(step_seconds) > WARMUP_STEPS else step_seconds


def median_iqr_ms(step_seconds: Sequence[float]) -> tuple[float, float]:
    """Median and interquartile range of the steady step times, in milliseconds."""
    samples = [s * 1e3 for s in steady_steps(step_seconds)]
    if not samples:
        return float("nan"), float("nan")
    if len(samples) < 2:
        return samples[0], 0.0
    q1, median, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return median, q3 - q1
