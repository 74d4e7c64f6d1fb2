"""`delay`: recall a symbol across `gap` distractors; the classic result that gated cells hold it and rnn does not."""
import numpy as np
import pandas
import pytest

from benchsuite_plugins.tasks.char_tasks import DELAY_CUE, DELAY_DISTRACTORS, build_delay
from helpers.cli import assert_bad_input
from helpers.runs import only_run_dir


def symbol_positions(data, x):
    """Where each sequence's one recall symbol sits (the symbols come first in the vocabulary)."""
    symbols = len(data.vocab) - len(DELAY_DISTRACTORS) - 1
    is_symbol = x < symbols
    assert (is_symbol.sum(axis=1) == 1).all()
    return is_symbol.argmax(axis=1)


@pytest.mark.parametrize("gap", [0, 5, 30])
def test_only_the_cue_step_has_a_target_and_it_is_the_symbol(gap):
    data = build_delay(gap=gap, samples=200)
    for x, y in ((data.x_train, data.y_train), (data.x_valid, data.y_valid), (data.x_test, data.y_test)):
        assert x.shape == y.shape == (len(x), gap + 2)
        assert (y[:, :-1] == -1).all()
        assert (x[:, -1] == data.vocab.index(DELAY_CUE)).all()
        assert np.array_equal(y[:, -1], x[np.arange(len(x)), symbol_positions(data, x)])
    assert data.ceiling == 1.0


def test_held_out_symbols_are_recalled_across_exactly_gap_distractors():
    data = build_delay(gap=12, samples=400, min_gap=3)
    assert (symbol_positions(data, data.x_valid) == 0).all() and (symbol_positions(data, data.x_test) == 0).all()
    assert len(data.x_test) == len(data.x_valid) == 100 and not np.array_equal(data.x_test, data.x_valid)
    spans = 12 - symbol_positions(data, data.x_train)  # distractors between the symbol and the cue
    assert spans.min() == 3 and spans.max() == 12
    assert set(np.unique(data.y_valid[:, -1])) == {0, 1, 2, 3}


def test_bad_delay_options_are_exit_2(bench):
    for option, message in (("delay.gap=-1", "need 0 <= min_gap <= gap"), ("delay.symbols=1", "symbols must lie"),
                            ("delay.span=3", "its options: gap, symbols, samples, min_gap")):
        assert_bad_input(bench("run", "--tasks", "delay", "--task-opt", option), message)


@pytest.mark.slow
def test_gated_cells_recall_across_30_steps_and_rnn_does_not(bench, tmp_path):
    """The acceptance run, with the task's defaults: lstm and gru >= 0.9 held-out, rnn at least 0.1 below."""
    result = bench("run", "--tasks", "delay", "--task-opt", "delay.gap=30", "--cells", "rnn,lstm,gru", "--seeds",
                   "0,1,2", "--threads", "1", "--device", "cpu", "--no-report", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    table = pandas.read_csv(only_run_dir(tmp_path) / "runs.csv")
    held_out = {(row.cell, row.seed): row.valid_accuracy for row in table.itertuples()}
    for seed in (0, 1, 2):
        gated = min(held_out["lstm", seed], held_out["gru", seed])
        assert gated >= 0.9, held_out
        assert held_out["rnn", seed] <= gated - 0.1, held_out
