"""Timing: warm-up excluded, median and interquartile range, a noise flag, inference timing.

Clocks are `time.perf_counter`; every timed call is followed by `session.synchronize()` so queued
device work (CUDA) is finished before the clock is read.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:
    from ..backends import Session

# The first step pays one-off costs (allocator growth, lazy initialisation, optimizer state, kernel selection).
WARMUP_STEPS = 1
# torch.utils.benchmark's two tiers: an interquartile range beyond 10% of the median is noted (the row is flagged
# `step_ms_noisy`), beyond 25% warned about.
NOISE_RATIO = 0.10
WARN_RATIO = 0.25
# Inference: untimed passes first, then timed ones until they are steady by torch.utils.benchmark's
# adaptive_autorange rule (at least INFER_MIN_SECONDS spent and an IQR within NOISE_RATIO of the median), or until
# INFER_MAX_SECONDS or INFER_MAX_REPEATS; never fewer than INFER_MIN_REPEATS. A steady row stops in a few
# hundredths of a second instead of spending the whole budget, a noisy one gets every repeat the budget allows.
INFER_WARMUP = 2
INFER_MIN_REPEATS = 10
INFER_MAX_REPEATS = 100
INFER_MIN_SECONDS = 0.01
INFER_MAX_SECONDS = 0.1


@dataclass(frozen=True)
class Spread:
    """Median and interquartile range of steady samples, in milliseconds."""

    median_ms: float
    iqr_ms: float

    @property
    def noisy(self) -> bool:
        """True when the IQR exceeds NOISE_RATIO of the median: the figure should not be trusted alone."""
        return self.median_ms > 0 and self.iqr_ms / self.median_ms > NOISE_RATIO


def warmup_count(steps: int) -> int:
    """How many of `steps` leading steps count as warm-up: none when there are too few to drop any."""
    return WARMUP_STEPS if steps > WARMUP_STEPS else 0


def steady_steps(step_seconds: Sequence[float]) -> Sequence[float]:
    """Step times without the warm-up."""
    return step_seconds[warmup_count(len(step_seconds)):]


def spread_ms(seconds: Sequence[float]) -> Spread:
    """Median and IQR (quartiles interpolated linearly) of `seconds`, in ms; numpy's, as a million steps must not
    cost a Python float each."""
    import numpy

    if not len(seconds):
        return Spread(float("nan"), float("nan"))
    q1, median, q3 = numpy.percentile(numpy.asarray(seconds, dtype=float), [25, 50, 75]) * 1e3
    return Spread(float(median), float(q3 - q1))


def step_spread(step_seconds: Sequence[float]) -> Spread:
    """Median and interquartile range of the training steps after the warm-up, in milliseconds."""
    return spread_ms(steady_steps(step_seconds))


@dataclass(frozen=True)
class InferenceTiming:
    """Forward-only passes over one batch: their times (warm-up excluded) and the characters each read."""

    seconds: list[float]
    characters: int

    @property
    def spread(self) -> Spread:
        return spread_ms(self.seconds)

    @property
    def chars_per_second(self) -> float:
        median_ms = self.spread.median_ms
        return self.characters / (median_ms / 1e3) if median_ms > 0 else float("nan")


def time_inference(session: Session, batch: Any, clock: Callable[[], float] = time.perf_counter) -> InferenceTiming:
    """Time `session.infer(batch)` as torch.utils.benchmark would: warm-up passes, then synced repeats until steady
    or the budget is spent (the INFER_ constants)."""
    for _ in range(INFER_WARMUP):
        session.infer(batch)
    session.synchronize()
    seconds: list[float] = []
    characters = 0
    started = clock()
    while len(seconds) < INFER_MAX_REPEATS:
        before = clock()
        characters = session.infer(batch)
        session.synchronize()
        seconds.append(clock() - before)
        spent = clock() - started
        if len(seconds) >= INFER_MIN_REPEATS and (
                spent >= INFER_MAX_SECONDS or (spent >= INFER_MIN_SECONDS and not spread_ms(seconds).noisy)):
            break
    return InferenceTiming(seconds, characters)
