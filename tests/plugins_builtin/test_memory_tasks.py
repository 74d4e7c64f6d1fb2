"""`recall`, `copy`, `induction`, `mqar`, `selective_copy`: each row's answers checked by reading the row symbol by
symbol, as a person would; the two papers' tasks also train a tiny block model on a trivial setting."""
from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pandas
import pytest

from benchsuite import testing
from benchsuite_plugins.tasks.memory_tasks import (
    DELIMITER,
    FILLER,
    KEYS,
    TRIGGER,
    build_copy,
    build_induction,
    build_mqar,
    build_recall,
    build_selective_copy,
)
from helpers.cli import assert_bad_input
from helpers.runs import only_run_dir

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
    ("mqar.seq_len=15", "mqar: seq_len=15 is too short for 4 pairs"),
    ("mqar.train_examples=0", "mqar.train_examples: must lie in 1..10000000, got 0"),
    ("selective_copy.vocab_size=2", "selective_copy.vocab_size: must lie in 3..28, got 2"),
    ("selective_copy.num_tokens=0", "selective_copy: need num_examples >= 1, num_tokens >= 1"),
])
def test_bad_options_are_exit_2_with_one_message(bench, option, message):
    assert_bad_input(bench("run", "--tasks", option.split(".")[0], "--task-opt", option), message)


@pytest.mark.parametrize("name", ["train", *HELD_OUT])
def test_mqar_queries_each_key_once_and_scores_only_the_queries_with_their_values(name):
    data = build_mqar(seq_len=32, num_kv_pairs=3, vocab_size=64, train_examples=60, test_examples=40)
    x, y = split(data, name)
    assert x.shape == y.shape == ((60 if name == "train" else 40), 32) and len(data.vocab) == 64
    for row, targets in zip(x, y):
        context = {int(row[t]): int(row[t + 1]) for t in range(0, 6, 2)}  # k1 v1 k2 v2 k3 v3
        assert len(context) == 3 and all(1 <= key < 32 <= value < 64 for key, value in context.items())
        scored = [t for t in range(32) if targets[t] >= 0]
        assert sorted(int(row[t]) for t in scored) == sorted(context)  # every key asked once
        for t in scored:
            assert t >= 6 and (t - 6) % 2 == 0 and targets[t] == context[int(row[t])]
        assert all(row[t] == 0 for t in range(6, 32) if t not in scored)
    assert data.chance == 1 / 32


def test_mqar_splits_are_drawn_apart_and_the_sampler_draws_fresh_rows():
    data = build_mqar(train_examples=200, test_examples=50)
    assert not {tuple(r) for r in data.x_train} & {tuple(r) for r in data.x_test}
    assert not {tuple(r) for r in data.x_valid} & {tuple(r) for r in data.x_test}
    rng = np.random.default_rng(0)
    first, second = data.sample_batch(rng, 8), data.sample_batch(rng, 8)
    assert first[0].shape == first[1].shape == (8, 64) and not np.array_equal(first[0], second[0])
    assert ((first[1] >= 0).sum(axis=1) == 4).all()


@pytest.mark.parametrize("name", ["train", *HELD_OUT])
def test_selective_copy_emits_the_tokens_among_the_noise_in_order_under_the_markers(name):
    data = build_selective_copy(noise_steps=10, num_tokens=3, vocab_size=6, samples=40)
    x, y = split(data, name)
    assert x.shape == y.shape == ((40 if name == "train" else 10), 16)
    for codes, targets in zip(x, y):
        row = symbols(data, codes)
        tokens = [symbol for symbol in row[:13] if symbol != FILLER]
        assert len(tokens) == 3 and row[13:] == [DELIMITER] * 3
        assert set(tokens) <= set("abcd")  # vocabulary 6: noise, four data tokens, the marker
        assert (targets[:13] < 0).all() and symbols(data, targets[13:]) == tokens
    x, y = data.sample_batch(np.random.default_rng(0), 5)
    assert x.shape == (5, 16) and ((y >= 0).sum(axis=1) == 3).all()


@pytest.mark.slow
@pytest.mark.parametrize("task, options, chance", [
    # one pair in four tokens (k v k _): the answer is the token two steps back; four values to choose from
    ("mqar", ["--task-opt", "mqar.seq_len=4", "--task-opt", "mqar.num_kv_pairs=1", "--task-opt",
              "mqar.vocab_size=8", "--task-opt", "mqar.train_examples=512", "--task-opt", "mqar.test_examples=128",
              "--epochs", "15", "--batch-size", "32"], 0.25),
    # one token among two noise steps, then its marker: two tokens to choose from, fresh rows each step
    ("selective_copy", ["--task-opt", "selective_copy.noise_steps=2", "--task-opt", "selective_copy.num_tokens=1",
                        "--task-opt", "selective_copy.vocab_size=4", "--steps", "300", "--batch-size", "32"], 0.5),
])
def test_a_tiny_block_model_learns_a_trivial_setting(bench, tmp_path, task, options, chance):
    result = bench("run", "--tasks", task, "--cells", "transformer", "--backbone", "block", "--layers", "1",
                   "--hidden", "16", "--lr", "0.01", "--quiet", "--no-report", "--out", str(tmp_path), *options)
    assert result.exit_code == 0, result.output
    runs = pandas.read_csv(only_run_dir(tmp_path) / "runs.csv")
    assert runs["status"].tolist() == ["ok"]
    assert runs["chance"][0] == pytest.approx(chance, abs=0.15) and runs["test_accuracy"][0] >= 0.95
