"""Zoology's MQAR and Mamba's selective copying: every row read back with plain Python (a dict of the context pairs,
a loop over the region), hand-written rows, and the query gaps' law against weights computed here."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from benchsuite import BenchInputError
from benchsuite_plugins.tasks.data.mqar import mqar, mqar_tapes
from benchsuite_plugins.tasks.data.selective_copy import copy_tapes, selective_copy

SKIP = -1  # any negative target is ignored


def test_mqar_hand_row_context_then_each_key_again_where_its_value_is_the_target():
    # two pairs (3 -> 5, 1 -> 7); key 3 queried at gap 1 (position 4 + 2), key 1 at gap 0 (position 4)
    x, y = mqar_tapes(np.array([[3, 1]]), np.array([[5, 7]]), np.array([[1, 0]]), seq_len=10)
    assert x.tolist() == [[3, 5, 1, 7, 1, 0, 3, 0, 0, 0]]
    assert y.tolist() == [[SKIP] * 4 + [7, SKIP, 5, SKIP, SKIP, SKIP]]


@pytest.mark.parametrize("seq_len, kv, vocab", [(64, 4, 8192), (128, 8, 8192), (16, 4, 16), (12, 3, 10)])
def test_mqar_every_key_is_queried_once_and_its_target_is_its_value_in_the_context(seq_len, kv, vocab):
    x, y = mqar(np.random.default_rng(0), 500, seq_len=seq_len, num_kv_pairs=kv, vocab_size=vocab)
    assert x.shape == y.shape == (500, seq_len)
    for tokens, targets in zip(x.tolist(), y.tolist()):
        context = dict(zip(tokens[0:2 * kv:2], tokens[1:2 * kv:2]))
        assert len(context) == kv and all(0 < key < vocab // 2 for key in context)
        assert len(set(context.values())) == kv and all(vocab // 2 <= value < vocab for value in context.values())
        assert all(target < 0 for target in targets[:2 * kv])
        queried = []
        for position in range(2 * kv, seq_len):
            token, target = tokens[position], targets[position]
            if token == 0:
                assert target < 0
            else:
                assert (position - 2 * kv) % 2 == 0 and target == context[token]
                queried.append(token)
        assert sorted(queried) == sorted(context)


def test_mqar_gaps_follow_the_power_law_drawn_without_replacement():
    seq_len, kv, a, rows = 64, 4, 0.01, 40_000
    slots = (seq_len - 2 * kv) // 2
    weights = np.array([i ** (a - 1) for i in range(1, slots + 1)])
    p = weights / weights.sum()
    # key 1 takes the first draw: its gap follows p; key 2 the second: p_j summed over first draws i != j of
    # p_i · p_j / (1 - p_i)
    second = np.array([sum(p[i] * p[j] / (1 - p[i]) for i in range(slots) if i != j) for j in range(slots)])
    x, _ = mqar(np.random.default_rng(1), rows, seq_len=seq_len, num_kv_pairs=kv, power_a=a)
    gap_of = {}
    for key_index in (0, 1):
        hits = x[:, 2 * kv:] == x[:, [2 * key_index]]
        assert (hits.sum(axis=1) == 1).all()
        gap_of[key_index] = hits.argmax(axis=1) // 2
    for gaps, law in ((gap_of[0], p), (gap_of[1], second)):
        counts = np.bincount(gaps, minlength=slots)
        assert stats.chisquare(counts, law * rows).pvalue > 1e-3
        assert stats.chisquare(counts, np.full(slots, rows / slots)).pvalue < 1e-9  # the test can tell
    assert p[0] > 0.2 and np.mean(gap_of[0] == 0) > 0.2  # queries cluster right after the context


@pytest.mark.parametrize("kwargs, message", [
    ({"seq_len": 15, "num_kv_pairs": 4}, "use seq_len >= 16"),
    ({"num_kv_pairs": 4, "vocab_size": 8}, "holds only 3 keys"),
    ({"num_kv_pairs": 0}, "num_kv_pairs >= 1"),
    ({"power_a": 0.0}, "power_a must be positive"),
])
def test_mqar_bad_settings_are_bad_input(kwargs, message):
    with pytest.raises(BenchInputError, match=message):
        mqar(np.random.default_rng(0), 4, **kwargs)


def test_selective_copy_hand_row_region_then_markers_where_the_tokens_are_read_in_order():
    x, y = copy_tapes(np.array([[4, 2, 4]]), np.array([[0, 3, 5]]), noise_steps=3, vocab_size=6)
    assert x.tolist() == [[4, 0, 0, 2, 0, 4, 5, 5, 5]]
    assert y.tolist() == [[SKIP] * 6 + [4, 2, 4]]


@pytest.mark.parametrize("noise, tokens, vocab", [(64, 4, 6), (10, 16, 16), (0, 3, 3)])
def test_selective_copy_answer_is_the_regions_data_tokens_in_order(noise, tokens, vocab):
    x, y = selective_copy(np.random.default_rng(2), 400, noise_steps=noise, num_tokens=tokens, vocab_size=vocab)
    region = noise + tokens
    assert x.shape == y.shape == (400, region + tokens)
    for row, targets in zip(x.tolist(), y.tolist()):
        data = []
        for code in row[:region]:
            if code != 0:
                data.append(code)
        assert len(data) == tokens and all(1 <= code <= vocab - 2 for code in data)
        assert row[region:] == [vocab - 1] * tokens
        assert targets == [SKIP] * region + data


def test_selective_copy_positions_are_uniform_over_the_region():
    noise, tokens, rows = 20, 4, 20_000
    x, _ = selective_copy(np.random.default_rng(3), rows, noise_steps=noise, num_tokens=tokens)
    occupied = (x[:, :noise + tokens] != 0).sum(axis=0)
    assert stats.chisquare(occupied, np.full(noise + tokens, rows * tokens / (noise + tokens))).pvalue > 1e-3
    layouts = {tuple(np.flatnonzero(row[:noise + tokens])) for row in x[:200]}
    assert len(layouts) > 190  # C(24, 4) = 10,626 layouts: 200 rows rarely repeat one


def test_selective_copy_bad_settings_are_bad_input():
    with pytest.raises(BenchInputError, match="no data token"):
        selective_copy(np.random.default_rng(0), 4, vocab_size=2)
    with pytest.raises(BenchInputError, match="num_tokens >= 1"):
        selective_copy(np.random.default_rng(0), 4, num_tokens=0)
