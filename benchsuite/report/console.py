"""The readable tables `bench run` prints: a progress line per finished row, and the runs table at the end."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..measurement.timing import NOISE_RATIO, WARN_RATIO, Spread
from ..results.naming import direction_label, short_name, variant_label
from ..results.schema import NEUTRAL_SETTINGS, SETTING_COLUMNS, is_blank, is_neutral

if TYPE_CHECKING:
    import pandas

# The columns the runs table shows, in order, under their short names: every swept setting, so rows that differ
# only in one never look alike (neutral settings are left out where no row sets them).
SHOWN = ["task", "cell", "num_layers", "bidirectional", "hidden_size", *SETTING_COLUMNS, "seed", "status", "params",
         "accuracy", "ceiling", "chance", "valid_accuracy", "test_accuracy", "bpc", "final_loss", "train_seconds",
         "step_ms_median"]
# Held-out figures exist only for tasks with a held-out split, chance only where a task states it; these columns
# are left out when all are blank.
HELD_OUT = ("chance", "valid_accuracy", "test_accuracy", "bpc")


def progress_line(index: int, total: int, row: dict[str, Any]) -> str:
    """One line for a finished row: what ran, how it ended, its headline figures."""
    line = f"[{index:>{len(str(total))}}/{total}] {variant_label(row)}: {row['status']}"
    if row["status"] == "ok":
        line += f"  accuracy {row['accuracy']:.3f}  loss {row['final_loss']:.4f}  {row['train_seconds']:.2f} s"
    elif not is_blank(row.get("error")):
        line += f" ({row['error']})"
    return line


def format_runs(table: pandas.DataFrame) -> str:
    """The runs table with the columns a reader checks first, errors listed beneath."""
    left_out = [column for column in HELD_OUT if table[column].isna().all()]
    left_out += [column for column in NEUTRAL_SETTINGS  # shown only where a run sets them
                 if all(is_neutral(column, value) for value in table[column])]
    shown = table[[column for column in SHOWN if column not in left_out]]
    shown = shown.assign(bidirectional=shown["bidirectional"].map(direction_label)).rename(columns=short_name)
    text = shown.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.4g}")
    notes = [f"  {variant_label(row)}: {row['status']}: {row['error']}"
             for row in table.to_dict("records") if row["status"] != "ok" and not is_blank(row["error"])]
    return text + ("\n\nnot ok:\n" + "\n".join(notes) if notes else "")


def noise_line(table: pandas.DataFrame) -> str | None:
    """One line on the rows whose step times were too spread out to trust, or None when no row's were: a note
    past NOISE_RATIO, a warning when some are past WARN_RATIO."""
    timed = table.dropna(subset=["step_ms_median", "step_ms_iqr"])
    spreads = [Spread(row.step_ms_median, row.step_ms_iqr) for row in timed.itertuples(index=False)]
    noisy = [spread for spread in spreads if spread.noisy]
    if not noisy:
        return None
    very = sum(spread.iqr_ms / spread.median_ms > WARN_RATIO for spread in noisy)
    line = (f"{len(noisy)} of {len(spreads)} rows had noisy step times (IQR > {NOISE_RATIO:.0%} of the median"
            + (f"; {very} over {WARN_RATIO:.0%}" if very else "") + ")")
    return f"{'warning' if very else 'note'}: {line}; see step_ms_noisy (other load on the machine disturbs timings)"
