"""Formal languages: each prefix's answer checked by counting or by a stack; held-out strings are the longer ones."""
from __future__ import annotations

import time

import numpy as np
import pytest

from benchsuite import testing
from benchsuite_plugins.tasks.formal_tasks import (
    CLOSERS,
    OPENERS,
    build_dyck,
    build_even_pairs,
    build_modular,
    build_parity,
    build_reverse,
)
from helpers.cli import assert_bad_input

PAD = "_"
TRAIN_LEN, TEST_LEN = 12, 30


def strings(data, name):
    """Each row as (its string, its answers: one per step, None where not scored)."""
    x, y = getattr(data, f"x_{name}"), getattr(data, f"y_{name}")
    for row, answers in zip(x[:40], y[:40]):
        text = "".join(data.vocab[code] for code in row)
        yield text.rstrip(PAD), [data.vocab[code] if code >= 0 else None for code in answers]


def check_prefix_answers(data, answer):
    """Every split: training strings score every prefix, held-out ones only prefixes longer than TRAIN_LEN."""
    for name in ("train", "valid", "test"):
        for text, answers in strings(data, name):
            assert PAD not in text and all(a is None for a in answers[len(text):])
            shortest = 0 if name == "train" else TRAIN_LEN
            expected = [answer(text[:t + 1]) if t >= shortest else None for t in range(len(text))]
            assert answers[:len(text)] == expected, text


def parity(prefix):
    return str(prefix.count("1") % 2)


def test_parity_answers_the_count_of_ones_mod_2():
    check_prefix_answers(build_parity(TRAIN_LEN, TEST_LEN, samples=200), parity)


def test_modular_answers_the_digit_sum_mod_the_modulus():
    check_prefix_answers(build_modular(7, TRAIN_LEN, TEST_LEN, samples=200),
                         lambda prefix: str(sum(map(int, prefix)) % 7))


def test_even_pairs_counts_ab_and_ba_pairs():
    def even_pairs(prefix):
        pairs = sum(prefix[i:i + 2] in ("ab", "ba") for i in range(len(prefix) - 1))
        return "y" if pairs % 2 == 0 else "n"

    check_prefix_answers(build_even_pairs(TRAIN_LEN, TEST_LEN, samples=200), even_pairs)


def stack_verdict(prefix):
    stack = []
    for char in prefix:
        if char in OPENERS:
            stack.append(char)
        elif not stack or OPENERS.index(stack.pop()) != CLOSERS.index(char):
            return "x"
    return "u" if stack else "b"


@pytest.mark.parametrize("kinds", [1, 3])
def test_dyck_answers_as_a_stack_does_and_nests_about_depth_deep(kinds):
    data = build_dyck(depth=3, kinds=kinds, train_len=TRAIN_LEN, test_len=TEST_LEN, samples=400)
    check_prefix_answers(data, stack_verdict)
    answers = data.y_train[data.y_train >= 0]
    shares = np.bincount(answers - 2 * kinds, minlength=3) / answers.size
    assert (shares > 0.05).all(), shares  # balanced, open and broken prefixes all occur
    deepest = [np.cumsum([1 if c in OPENERS else -1 for c in text]).max() for text, _ in strings(data, "test")]
    assert max(deepest) <= 3 + 2  # the walk stays within depth 3; one changed bracket moves it by 2 at most
    assert np.mean(np.array(deepest) == 3) > 0.5


def test_reverse_answers_the_word_reversed_at_the_delimiters():
    data = build_reverse(symbols=3, train_len=TRAIN_LEN, test_len=TEST_LEN, samples=200)
    for name in ("train", "valid", "test"):
        for text, answers in strings(data, name):
            word, delimiters = text.rstrip("|"), len(text) - len(text.rstrip("|"))
            assert delimiters == len(word) and set(word) <= set("012")
            assert answers[:len(word)] == [None] * len(word)
            assert "".join(answers[len(word):len(text)]) == word[::-1]
            assert all(a is None for a in answers[len(text):])


BUILDS = {"parity": build_parity, "modular": build_modular, "even-pairs": build_even_pairs, "dyck": build_dyck,
          "reverse": build_reverse}


@pytest.mark.parametrize("task", BUILDS)
def test_held_out_strings_are_longer_than_training_strings_and_sliced_by_length(task):
    data = BUILDS[task](train_len=TRAIN_LEN, test_len=TEST_LEN, samples=400)
    pad = data.vocab.index(PAD)
    per_step = 2 if task == "reverse" else 1  # a reversed word takes twice its length in steps
    train_lengths = (data.x_train != pad).sum(axis=1) // per_step
    assert train_lengths.min() == 1 and train_lengths.max() == TRAIN_LEN
    assert data.slice_name == "length"
    for name in ("valid", "test"):
        x, slices = getattr(data, f"x_{name}"), getattr(data, f"{name}_slices")
        assert np.array_equal((x != pad).sum(axis=1) // per_step, slices)
        assert slices.min() == TRAIN_LEN + 1 and slices.max() == TEST_LEN and x.shape[1] == TEST_LEN * per_step
    assert not np.array_equal(data.x_valid, data.x_test)
    testing.check_task(task, train_len=TRAIN_LEN, test_len=TEST_LEN, samples=400)


def test_chance_is_the_commonest_test_answer_and_parity_is_a_coin():
    data = build_parity(samples=4000)
    answers = data.y_test[data.y_test >= 0]
    assert data.chance == np.bincount(answers).max() / answers.size
    assert data.chance == pytest.approx(0.5, abs=0.02) and data.ceiling == 1.0


@pytest.mark.parametrize("task", BUILDS)
def test_ten_thousand_rows_up_to_length_100_take_well_under_a_second(task):
    start = time.process_time()  # CPU time: other load on the machine must not fail the test
    data = BUILDS[task](samples=10_000)
    assert time.process_time() - start < 1.0 and len(data.x_train) == 10_000 and data.x_test.shape[1] >= 100


@pytest.mark.parametrize("option, message", [
    ("parity.train_len=100", "parity: need 1 <= train_len < test_len (test strings are the longer ones), "
                             "got train_len=100, test_len=100"),
    ("modular.modulus=1", "modular.modulus: must lie in 2..10, got 1"),
    ("dyck.kinds=5", "dyck.kinds: must lie in 1..4, got 5"),
    ("reverse.samples=3", "reverse.samples: need at least 4"),
])
def test_bad_options_are_exit_2_with_one_message(bench, option, message):
    assert_bad_input(bench("run", "--tasks", option.split(".")[0], "--task-opt", option), message)
