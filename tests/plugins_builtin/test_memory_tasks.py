"""`recall`, `copy`, `induction`: each row's answers checked by reading the row symbol by symbol, as a person would."""
from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pytest

from benchsuite import testing
from benchsuite_plugins.tasks.memory_tasks import (
    DELIMITER,
    FILLER,
    KEYS,
    TRIGGER,
    build_copy,
    build_induction,
    build_recall,
)
from helpers.cli import assert_bad_input

HELD_OUT = ("valid", "test")


def split(data, name):
    return getattr(data, f"x_{name}"), getattr(data, f"y_{name}")


def symbols(data, row):
    return [data.vocab[code] for code in row]


@pytest.mark.parametrize("kv_pairs, queries", [(6, 4), (2, 4)])
def test_recall_answers_each_query_with_the_value_its_key_was_paired_with(kv_pairs, queries):
    data = build_recall(vocab=20, kv_pairs=kv_pairs, seq_len=30, queries=queries, samples=400)
    for name in ("train", *HELD_OUT):
        x, y = split(data, name)
        slices = getattr(data, f"{name}_slices", None)
        for index in range(30):
            row, values, asked, t = symbols(data, x[index]), {}, [], 0
            while t < len(row):  # a key seen for the first time comes with its value; seen again, it is a query
                if row[t] in KEYS and row[t] not in values:
                    assert not asked  # every pair comes before every query
                    values[row[t]] = row[t + 1]
                    t += 1
                elif row[t] != FILLER:
                    asked.append(t)
                t += 1
            pairs = len(values)
            assert len(asked) == min(queries, pairs) and len({row[t] for t in asked}) == len(asked)
            for t in range(len(row)):
                expected = values[row[t]] if t in asked else None
                assert (data.vocab[y[index, t]] if y[index, t] >= 0 else None) == expected
            if slices is not None:
                assert slices[index] == pairs
    counts = np.unique(data.test_slices)
    assert counts.min() == 1 and counts.max() == kv_pairs


def test_recall_chance_is_the_share_of_the_commonest_answer_about_one_over_the_values():
    data = build_recall(vocab=16, samples=4000)
    answers = Counter(data.y_test[data.y_test >= 0].tolist())
    assert data.chance == max(answers.values()) / sum(answers.values())
    assert data.chance == pytest.approx(1 / 8, abs=0.03) and data.ceiling == 1.0


def test_copy_emits_the_scattered_tokens_in_their_order_after_the_delimiter():
    data = build_copy(seq_len=20, tokens=5, vocab=6, samples=200)
    for name in ("train", *HELD_OUT):
        x, y = split(data, name)
        for index in range(30):
            row = symbols(data, x[index])
            scattered = [s for s in row[:15] if s not in (FILLER, DELIMITER)]
            assert row[15:] == [DELIMITER] * 5 and len(scattered) == 5
            assert [data.vocab[code] for code in y[index, 15:]] == scattered
            assert (y[index, :15] < 0).all()


def test_induction_answers_with_the_symbol_that_followed_the_trigger_first():
    data = build_induction(seq_len=12, vocab=5, samples=200)
    for name in ("train", *HELD_OUT):
        x, y = split(data, name)
        for index in range(30):
            row = symbols(data, x[index])
            first, second = [t for t, s in enumerate(row) if s == TRIGGER]
            assert second == 11 and first + 1 < second
            assert data.vocab[y[index, 11]] == row[first + 1] and (y[index, :11] < 0).all()


@pytest.mark.parametrize("build, roomy", [(build_recall, {"vocab": 16, "kv_pairs": 4, "seq_len": 24}),
                                          (build_copy, {}), (build_induction, {})])
def test_splits_differ_and_the_tasks_pass_the_kit(build, roomy):
    # With room for many distinct rows (recall's defaults allow few), rows drawn apart never coincide.
    data = build(samples=200, **roomy)
    assert not {tuple(r) for r in data.x_train} & {tuple(r) for r in data.x_test}
    assert not np.array_equal(data.x_valid, data.x_test)
    assert len(data.x_valid) == len(data.x_test) == 50
    testing.check_task(build.__name__.removeprefix("build_"), samples=200)


@pytest.mark.parametrize("build, options", [(build_recall, {"seq_len": 100, "kv_pairs": 8, "vocab": 32}),
                                            (build_copy, {"seq_len": 100}), (build_induction, {"seq_len": 100})])
def test_ten_thousand_rows_of_length_100_take_well_under_a_second(build, options):
    start = time.process_time()  # CPU time: other load on the machine must not fail the test
    data = build(samples=10_000, **options)
    assert time.process_time() - start < 1.0 and data.x_train.shape == (10_000, 100)


@pytest.mark.parametrize("option, message", [
    ("recall.kv_pairs=5", "recall.kv_pairs: must lie in 1..4 (the keys among vocab=8), got 5"),
    ("recall.seq_len=5", "recall.seq_len: 2 pairs and their queries need at least 6 steps, got 5"),
    ("copy.tokens=13", "copy.tokens: must lie in 1..seq_len/2 = 12"),
    ("induction.vocab=1", "induction.vocab: must lie in 2..26, got 1"),
])
def test_bad_options_are_exit_2_with_one_message(bench, option, message):
    assert_bad_input(bench("run", "--tasks", option.split(".")[0], "--task-opt", option), message)
