"""The ceiling a row carries: the best accuracy any model can reach on the task's data."""
from collections import Counter, defaultdict

import numpy as np
import pytest

import benchsuite
from benchsuite.report.console import format_runs
from benchsuite_plugins.tasks.data.char import causal_window_ceiling
from benchsuite_plugins.tasks.seed_tasks import SHIP_SENTENCE, build_apple, build_ship


def ceiling_by_hand(text: str, seq_len: int) -> float:
    """Count, over string prefixes of every window, how often the most frequent next character follows."""
    followers: dict[str, Counter] = defaultdict(Counter)
    for start in range(len(text) - seq_len):
        for end in range(start + 1, start + seq_len + 1):
            followers[text[start:end]][text[end]] += 1
    right = sum(max(counts.values()) for counts in followers.values())
    return right / sum(sum(counts.values()) for counts in followers.values())


def test_ship_ceiling_matches_a_count_over_string_prefixes():
    expected = ceiling_by_hand(SHIP_SENTENCE, 10)
    assert build_ship().ceiling == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.8965, abs=0.001)


@pytest.mark.parametrize("seq_len", [1, 3, 25])
def test_ship_ceiling_follows_the_window_length(seq_len):
    assert build_ship(seq_len).ceiling == pytest.approx(ceiling_by_hand(SHIP_SENTENCE, seq_len), abs=1e-12)


def test_ceiling_on_a_small_hand_example():
    # Prefix (0,) is followed by 1, 1, 2: best guess right 2 of 3. Prefix (0, 1) is followed by 0 and 2: 1 of 2.
    # Prefix (0, 2) by 2: 1 of 1. The ignored target (-1) does not count.
    x = np.array([[0, 1], [0, 1], [0, 2]])
    y = np.array([[1, 0], [1, 2], [2, 2]])
    assert causal_window_ceiling(x, y) == pytest.approx((2 + 1 + 1) / 6)
    y[2, 1] = -1
    assert causal_window_ceiling(x, y) == pytest.approx((2 + 1) / 5)


def test_apple_is_fully_predictable():
    assert build_apple().ceiling == 1.0


def test_ship_rows_carry_the_ceiling(tmp_path):
    table = benchsuite.run(tasks="ship", cells="rnn", epochs=1, out=tmp_path, device="cpu", threads=1)
    assert table["ceiling"].tolist() == pytest.approx([ceiling_by_hand(SHIP_SENTENCE, 10)])
    assert 0 <= table["accuracy"][0] <= table["ceiling"][0] + 1e-9
    header, row = format_runs(table).splitlines()[:2]
    assert "accuracy  ceiling" in header and "valid_acc" not in header  # ship has no held-out split
    assert row.split()[header.split().index("ceiling")] == f"{table['ceiling'][0]:.4g}"
