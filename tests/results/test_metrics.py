"""Metric directions and thresholds: what counts as worse, by how much, for each runs.csv column."""
from __future__ import annotations

import math

import pytest

from benchsuite.errors import BenchInputError
from benchsuite.results.metrics import METRICS, NOT_COMPARED, SETTINGS, parse_thresholds, worse_factor
from benchsuite.results.schema import KEY_COLUMNS, RUN_COLUMNS


@pytest.mark.parametrize("name,a,b,expected", [
    ("accuracy", 0.90, 0.88, 1),  # 0.02 lower: beyond 0.01
    ("accuracy", 0.90, 0.895, 0),
    ("accuracy", 0.60, 0.90, -1),
    ("valid_accuracy", 0.5, 0.2, 1),
    ("final_loss", 0.40, 0.42, 1),  # losses: higher is worse
    ("bpc", 2.10, 2.105, 0),
    ("step_ms_median", 10.0, 11.5, 1),  # 1.15x slower: beyond 1.10
    ("step_ms_median", 10.0, 10.5, 0),
    ("step_ms_median", 10.0, 8.0, -1),
    ("peak_memory_mb", 300.0, 320.0, 0),
    ("chars_per_second", 1000.0, 800.0, 1),  # throughput: lower is worse
    ("chars_per_second", 1000.0, 1200.0, -1),
    ("epochs_to_target", 8.0, math.inf, 1),  # reached before, never now
    ("epochs_to_target", math.inf, math.inf, 0),
    ("epochs_to_target", math.inf, 8.0, -1),
])
def test_worse_beyond_knows_each_direction_and_threshold(name, a, b, expected):
    assert METRICS[name].worse_beyond(a, b) == expected


def test_worse_factor_handles_zero_and_equal_values():
    assert worse_factor(0.0, 0.0, higher_is_better=False) == 1.0
    assert worse_factor(0.0, 5.0, higher_is_better=False) == math.inf
    assert worse_factor(200.0, 100.0, higher_is_better=True) == 2.0


def test_every_runs_csv_column_has_a_role_in_compare():
    roles = set(METRICS) | set(SETTINGS) | set(NOT_COMPARED) | set(KEY_COLUMNS) | {"device"}
    unknown = [column for column in RUN_COLUMNS if column not in roles]
    assert unknown == [], f"classify these columns in benchsuite/results/metrics.py: {unknown}"


def test_thresholds_can_be_changed_per_metric():
    chosen = parse_thresholds(["accuracy=0.05", "step_ms_median=1.5"])
    assert chosen["accuracy"].threshold == 0.05 and chosen["step_ms_median"].threshold == 1.5
    assert chosen["accuracy"].worse_beyond(0.90, 0.88) == 0
    assert chosen["step_ms_median"].worse_beyond(10.0, 14.0) == 0
    assert METRICS["accuracy"].threshold == 0.01  # the defaults are untouched


@pytest.mark.parametrize("pair,message", [
    ("speed=2", "METRIC one of"),
    ("accuracy", "METRIC one of"),
    ("accuracy=lots", "is not a number"),
    ("accuracy=-0.1", "absolute difference"),
    ("train_seconds=0.9", "takes a factor"),
])
def test_bad_thresholds_are_bad_input(pair, message):
    with pytest.raises(BenchInputError, match=message):
        parse_thresholds([pair])
