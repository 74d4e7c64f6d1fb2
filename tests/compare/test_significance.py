"""The comparison's statistics against p-values worked out by hand: every rank order enumerated (small samples)
and the large-sample normal formula (ties), never against the scipy call the code itself makes."""
from __future__ import annotations

import math

import pytest

from benchsuite.compare.significance import (
    DEFAULT_ALPHA,
    TOO_FEW,
    Evidence,
    Measurement,
    judge,
    mann_whitney_p,
    smallest_p_value,
)
from helpers.ranks import enumerated_p, normal_approximation_p

STEP_A = [4.01, 3.98, 4.12, 4.05, 3.91, 4.2, 4.07, 3.99]
STEP_B = [4.31, 4.44, 4.18, 4.52, 4.29, 4.61, 4.35, 4.4]


@pytest.mark.parametrize("n_a,n_b", [(1, 1), (3, 3), (5, 5), (6, 6), (7, 7), (4, 9), (12, 1)])
def test_smallest_p_value_is_that_of_fully_separated_samples(n_a, n_b):
    lower, upper = list(range(n_a)), list(range(100, 100 + n_b))
    assert smallest_p_value(n_a, n_b) == pytest.approx(enumerated_p(lower, upper))


def test_three_seeds_against_three_can_never_reach_the_default_level():
    assert smallest_p_value(3, 3) == pytest.approx(0.1)
    assert smallest_p_value(6, 6) > DEFAULT_ALPHA > smallest_p_value(7, 7)


@pytest.mark.parametrize("a,b", [
    (STEP_A[:4], STEP_B[:4]),
    ([1.0, 5.0, 3.0, 7.0], [2.0, 4.0, 6.0, 8.0, 9.0]),
    (STEP_A[:5], STEP_A[5:] + [4.5, 3.7]),
])
def test_mann_whitney_p_matches_an_enumeration_of_rank_orders(a, b):
    assert mann_whitney_p(a, b) == pytest.approx(enumerated_p(a, b))


def test_mann_whitney_p_follows_the_normal_formula_with_ties_and_large_samples():
    a = [1.0, 1.0, 2.0, 2.0, 3.0] * 8
    b = [2.0, 3.0, 3.0, 4.0, 4.0] * 8
    assert mann_whitney_p(a, b) == pytest.approx(normal_approximation_p(a, b), rel=1e-9)
    assert mann_whitney_p([0.5] * 7, [0.5] * 7) == 1.0


def test_judge_uses_the_rank_test_when_it_can_decide():
    evidence = judge(Measurement.of(STEP_A), Measurement.of(STEP_B))
    assert evidence.test == "mann-whitney"
    # Every B value but 4.18 is above every A value, and 4.18 is below only 4.2: 4 of the C(16, 8) rank orders
    # are as extreme (U = 0 or 1, either way round).
    assert enumerated_p(STEP_A, STEP_B) == pytest.approx(4 / math.comb(16, 8))
    assert evidence.p_value == pytest.approx(enumerated_p(STEP_A, STEP_B))
    assert evidence.significant and evidence.p_value < DEFAULT_ALPHA


def test_judge_falls_back_to_intervals_with_few_samples():
    apart = judge(Measurement.of([0.88, 0.89, 0.9]), Measurement.of([0.58, 0.6, 0.61]))
    overlapping = judge(Measurement.of([0.88, 0.7, 0.9]), Measurement.of([0.58, 0.75, 0.61]))
    assert (apart.test, apart.significant, apart.p_value) == ("intervals", True, None)
    assert (overlapping.test, overlapping.significant) == ("intervals", False)


def test_intervals_may_be_wider_than_the_samples():
    # A per-seed interval (e.g. from a recorded IQR) that reaches the other side is an overlap.
    a = Measurement((10.0,), 8.0, 12.0)
    assert not judge(a, Measurement((11.5,), 11.0, 12.0)).significant
    assert judge(a, Measurement((13.0,), 12.5, 13.5)).significant


def test_never_reached_is_an_infinite_value_that_separates():
    assert judge(Measurement.of([8.0, 9.0, 8.0]), Measurement.of([math.inf] * 3)).significant


def test_timings_from_too_few_runs_get_no_verdict_but_accuracies_do() -> None:
    # Two runs of the same code differ in time by chance; three readings each cannot show a regression.
    fast, slow = Measurement.of([1.0, 1.1, 1.05]), Measurement.of([3.0, 3.1, 3.2])
    assert judge(fast, slow, timed=True) == Evidence(TOO_FEW, False)
    # Losses and accuracies from the same seed are reproducible, so one value each still counts.
    assert judge(Measurement.of([0.9]), Measurement.of([0.6])).significant


def test_enough_runs_for_the_rank_test_give_a_timing_verdict() -> None:
    # Seven runs a side: the smallest two-sided p is 2 / C(14, 7) = 0.00058 < 0.002.
    fast = Measurement.of([1.0, 1.1, 1.05, 0.97, 1.2, 1.02, 1.08])
    slow = Measurement.of([3.0 * value for value in fast.values])
    evidence = judge(fast, slow, timed=True)
    assert (evidence.test, evidence.significant) == ("mann-whitney", True)
    assert evidence.p_value == pytest.approx(2 / math.comb(14, 7))
