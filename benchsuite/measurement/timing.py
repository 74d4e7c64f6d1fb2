"""Timing: warm-up excluded, median and interquartile range, a noise flag, inference timing, thread control.

Clocks are `time.perf_counter`; every timed call is followed by `session.synchronize()` so queued
device work (CUDA) is finished before the clock is read.
"""
from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Sequence

if TYPE_CHECKING:
    from ..backends import Session

# The first step pays one-off costs (allocator growth, lazy initialisation, optimizer state, kernel selection).
WARMUP_STEPS = 1
# torch.utils.benchmark's two tiers: an interquartile range beyond 10% of the median is noted (the row is flagged
# `step_ms_noisy`), beyond 25% warned about.
NOISE_RATIO = 0.10
WARN_RATIO = 0.25
# Inference: untimed passes first, then timed ones until both a minimum count and a minimum time are reached.
INFER_WARMUP = 2
INFER_MIN_REPEATS = 5
INFER_MAX_REPEATS = 100
INFER_MIN_SECONDS = 0.1


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
    """Median and IQR (quartiles interpolated linearly, as numpy.percentile does) of `seconds`, in ms."""
    samples = [s * 1e3 for s in seconds]
    if not samples:
        return Spread(float("nan"), float("nan"))
    if len(samples) < 2:
        return Spread(samples[0], 0.0)
    q1, median, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return Spread(median, q3 - q1)


def step_spread(step_seconds: Sequence[float]) -> Spread:
    """Median and interquartile range of the training steps after the warm-up, in milliseconds."""
    return spread_ms(steady_steps(step_seconds))


def noise_summary(spreads: Sequence[Spread]) -> str | None:
    """One line on how many of these timings were noisy (None when none was): a note past NOISE_RATIO, a warning
    when some are past WARN_RATIO."""
    noisy = [spread for spread in spreads if spread.noisy]
    if not noisy:
        return None
    very = sum(spread.iqr_ms / spread.median_ms > WARN_RATIO for spread in noisy)
    line = (f"{len(noisy)} of {len(spreads)} rows had noisy step times (IQR > {NOISE_RATIO:.0%} of the median"
            + (f"; {very} over {WARN_RATIO:.0%}" if very else "") + ")")
    return f"{'warning' if very else 'note'}: {line}; see step_ms_noisy (other load on the machine disturbs timings)"


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


def time_inference(session: "Session", batch: Any) -> InferenceTiming:
    """Time `session.infer(batch)` as torch.utils.benchmark would: warm-up passes, then repeats, synced."""
    clock = time.perf_counter
    for _ in range(INFER_WARMUP):
        session.infer(batch)
    session.synchronize()
    seconds: list[float] = []
    characters = 0
    started = clock()
    while len(seconds) < INFER_MAX_REPEATS and (
            len(seconds) < INFER_MIN_REPEATS or clock() - started < INFER_MIN_SECONDS):
        before = clock()
        characters = session.infer(batch)
        session.synchronize()
        seconds.append(clock() - before)
    return InferenceTiming(seconds, characters)


@contextmanager
def thread_count(threads: int | None) -> Iterator[int]:
    """Run the block with torch using `threads` intra-op threads and the BLAS and OpenMP pools (NumPy's among
    them) limited to as many, through threadpoolctl (None: leave all as they are); yields torch's count in use."""
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):  # None changes nothing
            yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


def threads_in_use() -> int:
    """torch's intra-op thread count in this process now, recorded on every row."""
    import torch

    return torch.get_num_threads()
