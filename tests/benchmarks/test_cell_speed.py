"""The scan cells' speed against lstm (cell_speed.py), and the FLOP formula its table prints beside it.

The acceptance figures (mingru and minlstm at most half of lstm's step time, lru at most 1.25x, at hidden 128 and
T 256 and 1024) take about a minute on a quiet machine, so they run only when asked:

    BENCHSUITE_CELL_SPEED_BENCHMARK=1 python -m pytest tests/benchmarks/test_cell_speed.py -s
"""
from __future__ import annotations

import os

import pytest

from benchsuite import CellConfig, get_cell

from .cell_speed import CELLS, Grid, markdown_table, measure, multiply_adds, ratios

LIMITS = {"mingru": 0.5, "minlstm": 0.5, "lru": 1.25}  # step time as a multiple of lstm's, at most


@pytest.mark.parametrize("cell", CELLS)
def test_multiply_adds_count_each_weight_matrix_entry_once(cell):
    # Every entry of a weight matrix is one multiply-add per step and sequence (a complex weight's real and
    # imaginary parts are separate matrices); only attention's scores and averages use no weights.
    hidden, length = 24, 10
    layer = get_cell(cell).build(CellConfig(8, hidden))
    weight_entries = sum(p.numel() for p in layer.parameters() if p.dim() == 2)
    attention = hidden * (length + 1) if cell == "transformer" else 0
    assert multiply_adds(cell, hidden, length, input_size=8) == weight_entries + attention


@pytest.mark.skipif(os.environ.get("BENCHSUITE_CELL_SPEED_BENCHMARK") != "1",
                    reason="about a minute; set BENCHSUITE_CELL_SPEED_BENCHMARK=1 to run it")
def test_scan_cells_run_at_their_share_of_lstm_time():
    results = measure(Grid(lengths=(256, 1024), hidden_sizes=(128,), rounds=11))
    print("\n" + markdown_table(results, "cpu"))
    for (hidden, length), by_clock in results.items():
        time_ratio = ratios(by_clock["cpu"])
        for cell, limit in LIMITS.items():
            assert time_ratio[cell] <= limit, f"{cell} at hidden {hidden}, T {length}: {time_ratio[cell]:.2f}x lstm"
