"""Timing statistics against numpy, the noise flag, inference timing and thread control."""
from __future__ import annotations

import math

import numpy as np
import pytest

from benchsuite.measurement.environment import thread_count
from benchsuite.measurement.timing import (
    INFER_MAX_REPEATS,
    INFER_MAX_SECONDS,
    INFER_MIN_REPEATS,
    INFER_MIN_SECONDS,
    INFER_WARMUP,
    NOISE_RATIO,
    Spread,
    spread_ms,
    step_spread,
    time_inference,
)

# Fixed samples (seconds): odd and even counts, ties, an outlier.
SAMPLES = [
    [0.010, 0.012, 0.011, 0.013, 0.050],
    [0.0021, 0.0019, 0.0020, 0.0022, 0.0018, 0.0025],
    [1.0, 1.0, 1.0, 2.0],
    [0.3, 0.1],
]


@pytest.mark.parametrize("seconds", SAMPLES)
def test_median_and_iqr_match_numpy(seconds: list[float]) -> None:
    ms = np.array(seconds) * 1e3
    q1, median, q3 = np.percentile(ms, [25, 50, 75])
    spread = spread_ms(seconds)
    assert spread.median_ms == pytest.approx(median)
    assert spread.iqr_ms == pytest.approx(q3 - q1)


def test_random_samples_match_numpy() -> None:
    seconds = np.random.default_rng(7).lognormal(-5, 0.3, size=257)
    q1, median, q3 = np.percentile(seconds * 1e3, [25, 50, 75])
    spread = spread_ms(list(seconds))
    assert (spread.median_ms, spread.iqr_ms) == pytest.approx((median, q3 - q1))


def test_warmup_step_is_left_out() -> None:
    steps = [5.0, 0.010, 0.011, 0.012]  # a slow first step must not move the figures
    assert step_spread(steps) == spread_ms(steps[1:])
    assert step_spread([0.004]) == Spread(4.0, 0.0)  # too few steps to drop any


def test_empty_samples_give_nan() -> None:
    spread = spread_ms([])
    assert np.isnan(spread.median_ms) and np.isnan(spread.iqr_ms)


def test_noise_flag_threshold() -> None:
    assert not Spread(10.0, 10.0 * NOISE_RATIO).noisy
    assert Spread(10.0, 10.0 * NOISE_RATIO * 1.01).noisy
    # Tight samples are not noisy; a bimodal set is.
    assert not spread_ms([0.010, 0.0101, 0.0099, 0.0100]).noisy
    assert spread_ms([0.010, 0.020, 0.010, 0.020]).noisy


class CountingSession:
    """Records the order of infer and synchronize calls; each pass takes the next of `pass_seconds` (cycled) on a
    fake clock, so the stopping rule is checked exactly, whatever the machine's load."""

    def __init__(self, pass_seconds: list[float]) -> None:
        self.calls: list[str] = []
        self.pass_seconds = pass_seconds
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def infer(self, batch: list[int]) -> int:
        self.now += self.pass_seconds[self.calls.count("infer") % len(self.pass_seconds)]
        self.calls.append("infer")
        return len(batch) * 10

    def synchronize(self) -> None:
        self.calls.append("sync")


def timed(pass_seconds: list[float]) -> tuple[CountingSession, list[float]]:
    session = CountingSession(pass_seconds)
    return session, time_inference(session, [1, 2, 3], clock=session.clock).seconds


def test_inference_timing_warms_up_then_syncs_every_timed_pass() -> None:
    session = CountingSession([0.002])
    timing = time_inference(session, [1, 2, 3], clock=session.clock)
    assert timing.characters == 30
    assert session.calls[:INFER_WARMUP + 1] == ["infer"] * INFER_WARMUP + ["sync"]  # warm-up passes, one sync
    assert session.calls[INFER_WARMUP + 1:] == ["infer", "sync"] * len(timing.seconds)
    assert timing.chars_per_second == pytest.approx(30 / 0.002)


def test_steady_passes_stop_once_the_minimum_time_and_count_are_reached() -> None:
    # 3 ms passes: the minimum time is reached after ceil(0.01 / 0.003) = 4 passes, the minimum count after 10.
    assert len(timed([0.003])[1]) == max(INFER_MIN_REPEATS, math.ceil(INFER_MIN_SECONDS / 0.003))
    # 2^-11 s passes (exact in binary, so the sums are too): the minimum count comes first, then steady passes
    # stop as soon as 10 ms are spent, after ceil(0.01 * 2^11) = 21 passes.
    assert len(timed([2 ** -11])[1]) == math.ceil(INFER_MIN_SECONDS * 2 ** 11)
    # Passes too short to ever fill the minimum time use every repeat allowed.
    assert len(timed([1e-6])[1]) == INFER_MAX_REPEATS


def test_noisy_passes_use_the_whole_budget() -> None:
    noisy = [2 ** -10, 3 * 2 ** -10]  # about 1 and 3 ms: the IQR is far beyond 10% of the median
    assert spread_ms(noisy * 5).noisy
    seconds = timed(noisy)[1]
    assert len(seconds) == math.ceil(INFER_MAX_SECONDS * 2 ** 9)  # passes of 2 ms on average until 0.1 s: 52
    assert sum(seconds) >= INFER_MAX_SECONDS > sum(seconds[:-1])
    # A steady stretch stops the timing once its IQR is tight: 20 noisy passes then steady ones.
    settling = timed(noisy * 10 + [2 ** -9] * 200)[1]
    assert len(settling) < len(seconds) and not spread_ms(settling).noisy and spread_ms(settling[:-1]).noisy


def test_slow_passes_stop_after_the_minimum_repeats() -> None:
    seconds = timed([INFER_MAX_SECONDS / 2])[1]  # the whole budget is spent by the second pass
    assert len(seconds) == INFER_MIN_REPEATS


def test_thread_count_sets_and_restores() -> None:
    import torch

    before = torch.get_num_threads()
    with thread_count(1) as threads:
        assert threads == torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with thread_count(None) as threads:
        assert threads == before


def test_thread_count_pins_the_blas_and_openmp_pools_too() -> None:
    from threadpoolctl import threadpool_info

    before = [pool["num_threads"] for pool in threadpool_info()]
    with thread_count(1):
        assert [pool["num_threads"] for pool in threadpool_info()] == [1] * len(before)
    assert [pool["num_threads"] for pool in threadpool_info()] == before
