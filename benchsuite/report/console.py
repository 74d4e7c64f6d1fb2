"""The readable tables `bench run` prints: a progress line per finished row, and the runs table at the end."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from ..measurement.timing import NOISE_RATIO, WARN_RATIO, Spread
from ..results.schema import SETTING_COLUMNS, is_blank, is_neutral

if TYPE_CHECKING:
    import pandas

SHOWN = {"task": "task", "cell": "cell", "num_layers": "layers", "bidirectional": "dir", "hidden_size": "hidden",
         "lr": "lr", "batch_size": "batch", "max_epochs": "epochs", "clip": "clip", "weight_decay": "wd",
         "seed": "seed", "status": "status",
         "params": "params", "accuracy": "accuracy", "ceiling": "ceiling", "chance": "chance",
         "valid_accuracy": "valid_acc", "test_accuracy": "test_acc", "bpc": "bpc", "final_loss": "loss",
         "train_seconds": "train_s", "step_ms_median": "step_ms"}
# Held-out figures exist only for tasks with a held-out split, chance only where a task states it; these columns
# are left out when all are blank.
HELD_OUT = ("chance", "valid_acc", "test_acc", "bpc")


# Short labels of the training settings in a variant's name; a setting without one shows as `column=value`.
SETTING_LABELS = {"lr": "lr", "batch_size": "b", "max_epochs": "e", "clip": "clip", "weight_decay": "wd"}
# How a neutral setting (schema.NEUTRAL_SETTINGS) reads where a table must tell it from the others' values; a full
# variant name and the shared settings leave it out.
NEUTRAL_LABELS = {"clip": "noclip", "weight_decay": "wd0"}


def _setting_value(value: Any) -> str:
    return "?" if is_blank(value) else f"{float(value):g}" if isinstance(value, float) else str(value)


def setting_label(column: str, value: Any) -> str:
    """One setting as a variant's name shows it, e.g. `lr0.01`, `b32`, `noclip`; `b?` where it is unknown."""
    if is_neutral(column, value):
        return NEUTRAL_LABELS[column]
    shown = _setting_value(value)
    return f"{SETTING_LABELS[column]}{shown}" if column in SETTING_LABELS else f"{column}={shown}"


def variant_name(row: dict[str, Any], settings: Iterable[str] | None = None) -> str:
    """The variant within a task, architecture then the training `settings` named, e.g. `lstm 2L bi h32 lr0.01
    b32 e20 clip1`; tables and plots name only the settings that vary among their rows. By default every setting
    is named, but for clip and weight decay at their neutral values."""
    direction = "bi" if row["bidirectional"] in (True, "True") else "uni"
    if settings is None:
        settings = [column for column in SETTING_COLUMNS if not is_neutral(column, row.get(column))]
    shown = "".join(f" {setting_label(column, row.get(column))}" for column in settings)
    return f"{row['cell']} {row['num_layers']}L {direction} h{row['hidden_size']}{shown}"


def varying_settings(table: "pandas.DataFrame") -> list[str]:
    """The setting columns whose value differs between rows of `table` (these tell its variants apart)."""
    return [column for column in SETTING_COLUMNS if column in table and table[column].nunique(dropna=False) > 1]


def fixed_settings(table: "pandas.DataFrame") -> str:
    """The settings every row of `table` shares, e.g. `lr 0.01, batch_size 32, max_epochs 20` ('' if none), but
    for a shared neutral clip or weight decay."""
    shared = [column for column in SETTING_COLUMNS if column in table and table[column].nunique(dropna=False) == 1
              and not is_neutral(column, table[column].iloc[0])]
    return ", ".join(f"{column} {_setting_value(table[column].iloc[0])}" for column in shared)


def variant_label(row: dict[str, Any]) -> str:
    return f"{row['task']} {variant_name(row)} seed {row['seed']}"


def progress_line(index: int, total: int, row: dict[str, Any]) -> str:
    """One line for a finished row: what ran, how it ended, its headline figures."""
    line = f"[{index:>{len(str(total))}}/{total}] {variant_label(row)}: {row['status']}"
    if row["status"] == "ok":
        line += f"  accuracy {row['accuracy']:.3f}  loss {row['final_loss']:.4f}  {row['train_seconds']:.2f} s"
    elif not is_blank(row.get("error")):
        line += f" ({row['error']})"
    return line


def format_runs(table: "pandas.DataFrame") -> str:
    """The runs table with the columns a reader checks first, errors listed beneath."""
    shown = table[list(SHOWN)].rename(columns=SHOWN)
    shown = shown.drop(columns=[name for name in HELD_OUT if shown[name].isna().all()])
    shown = shown.drop(columns=[SHOWN[column] for column in NEUTRAL_LABELS  # shown only where a run sets them
                                if all(is_neutral(column, value) for value in table[column])])
    shown["dir"] = shown["dir"].map(lambda bi: "bi" if bi in (True, "True") else "uni")
    text = shown.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.4g}")
    notes = [f"  {variant_label(row)}: {row['status']}: {row['error']}"
             for row in table.to_dict("records") if row["status"] != "ok" and not is_blank(row["error"])]
    return text + ("\n\nnot ok:\n" + "\n".join(notes) if notes else "")


def noise_line(table: "pandas.DataFrame") -> str | None:
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
