"""The readable tables `bench run` prints: a progress line per finished row, and the runs table at the end."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..measurement.timing import Spread, noise_summary

if TYPE_CHECKING:
    import pandas

SHOWN = {"task": "task", "cell": "cell", "num_layers": "layers", "bidirectional": "dir", "hidden_size": "hidden",
         "seed": "seed", "status": "status", "params": "params", "accuracy": "accuracy", "ceiling": "ceiling",
         "valid_accuracy": "valid_acc", "bpc": "bpc", "final_loss": "loss", "train_seconds": "train_s",
         "step_ms_median": "step_ms"}
# Held-out figures exist only for tasks with a held-out split; their columns are left out when all are blank.
HELD_OUT = ("valid_acc", "bpc")


def _blank(value: Any) -> bool:
    return value is None or value == "" or value != value  # the last catches NaN


def variant_name(row: dict[str, Any]) -> str:
    """The variant within a task, e.g. `lstm 2L bi h32`."""
    direction = "bi" if row["bidirectional"] in (True, "True") else "uni"
    return f"{row['cell']} {row['num_layers']}L {direction} h{row['hidden_size']}"


def variant_label(row: dict[str, Any]) -> str:
    return f"{row['task']} {variant_name(row)} seed {row['seed']}"


def progress_line(index: int, total: int, row: dict[str, Any]) -> str:
    """One line for a finished row: what ran, how it ended, its headline figures."""
    line = f"[{index:>{len(str(total))}}/{total}] {variant_label(row)}: {row['status']}"
    if row["status"] == "ok":
        line += f"  accuracy {row['accuracy']:.3f}  loss {row['final_loss']:.4f}  {row['train_seconds']:.2f} s"
    elif not _blank(row.get("error")):
        line += f" ({row['error']})"
    return line


def format_runs(table: "pandas.DataFrame") -> str:
    """The runs table with the columns a reader checks first, errors listed beneath."""
    shown = table[list(SHOWN)].rename(columns=SHOWN)
    shown = shown.drop(columns=[name for name in HELD_OUT if shown[name].isna().all()])
    shown["dir"] = shown["dir"].map(lambda bi: "bi" if bi in (True, "True") else "uni")
    text = shown.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.4g}")
    notes = [f"  {variant_label(row)}: {row['status']}: {row['error']}"
             for row in table.to_dict("records") if row["status"] != "ok" and not _blank(row["error"])]
    return text + ("\n\nnot ok:\n" + "\n".join(notes) if notes else "")


def noise_line(table: "pandas.DataFrame") -> str | None:
    """One line on the rows whose step times were too spread out to trust, or None when no row's were."""
    timed = table.dropna(subset=["step_ms_median", "step_ms_iqr"])
    return noise_summary([Spread(row.step_ms_median, row.step_ms_iqr) for row in timed.itertuples(index=False)])
