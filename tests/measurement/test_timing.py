"""Timing statistics against numpy, the noise flag, inference timing and thread control."""
from __future__ import annotations

import time

import numpy as np
import pytest

from benchsuite.measurement.environment import thread_count
from benchsuite.measurement.timing import (
    INFER_MAX_REPEATS,
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
    """Records the order of infer and synchronize calls."""

    def __init__(self, pass_seconds: float = 0.0) -> None:
        self.calls: list[str] = []
        self.pass_seconds = pass_seconds

    def infer(self, batch: list[int]) -> int:
        self.calls.append("infer")
        time.sleep(self.pass_seconds)
        return len(batch) * 10

    def synchronize(self) -> None:
        self.calls.append("sync")


def test_inference_timing_warms_up_then_syncs_every_timed_pass() -> None:
    session = CountingSession()
    timing = time_inference(session, [1, 2, 3])
    assert len(timing.seconds) == INFER_MAX_REPEATS  # instant passes never fill the time budget
    assert timing.characters == 30
    timed = session.calls[INFER_WARMUP + 1:]  # warm-up passes, one sync, then the timed passes
    assert session.calls[:INFER_WARMUP + 1] == ["infer"] * INFER_WARMUP + ["sync"]
    assert timed == ["infer", "sync"] * len(timing.seconds)
    assert timing.chars_per_second == pytest.approx(30 / (np.median(timing.seconds)))


def test_slow_passes_stop_after_the_minimum_repeats() -> None:
    pass_seconds = INFER_MIN_SECONDS / (INFER_MIN_REPEATS - 1)  # the budget is spent before the minimum count
    timing = time_inference(CountingSession(pass_seconds), [1])
    assert len(timing.seconds) == INFER_MIN_REPEATS
    assert min(timing.seconds) >= pass_seconds


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
