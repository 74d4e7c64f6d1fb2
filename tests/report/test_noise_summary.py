"""Noisy step times end a run with one line, in torch.utils.benchmark's two tiers, not a warning per row."""
from __future__ import annotations

import pandas as pd

from benchsuite.report.console import noise_line


def rows(ratios: list[float]) -> pd.DataFrame:
    """Made-up rows with a 10 ms median step and an IQR of `ratio` times it; NaN ratio: a row without timings."""
    return pd.DataFrame({"step_ms_median": [10.0] * len(ratios), "step_ms_iqr": [10.0 * r for r in ratios]})


def test_many_noisy_rows_make_one_line_that_counts_both_tiers():
    table = rows([0.05] * 5 + [0.15] * 4 + [0.30] * 3)  # 12 rows: 7 over 10%, 3 of them over 25%
    assert noise_line(table) == ("warning: 7 of 12 rows had noisy step times (IQR > 10% of the median; 3 over 25%); "
                                 "see step_ms_noisy (other load on the machine disturbs timings)")


def test_rows_only_over_the_first_tier_are_a_note():
    line = noise_line(rows([0.05, 0.2, float("nan")]))  # the row without timings (skipped) is not counted
    assert line is not None and line.startswith("note: 1 of 2 rows had noisy step times (IQR > 10% of the median)")


def test_quiet_timings_print_nothing():
    assert noise_line(rows([0.01, 0.05, 0.1])) is None
