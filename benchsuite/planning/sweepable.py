"""The hyperparameters a run may sweep: each one's flag takes a comma list, and the grid is their product.

One table, so sweeping another hyperparameter is one line here (and its column in results/schema.SETTING_COLUMNS,
which makes it part of a variant's identity).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..errors import BenchInputError
from .parsers import batch_size_value, clip_value, non_negative_number, positive_int, positive_number


@dataclass(frozen=True)
class Swept:
    """A sweepable hyperparameter: its RunOptions field (also `benchsuite.run`'s keyword and the sweep file's key),
    its flag, its name among task defaults and on a Job, its runs.csv column, and the parser of one value."""

    option: str
    flag: str
    hyper: str
    column: str
    parse: Callable[[Any, str], Any]


SWEPT = (
    Swept("hidden", "--hidden", "hidden_size", "hidden_size", positive_int),
    Swept("epochs", "--epochs", "epochs", "max_epochs", positive_int),
    Swept("lr", "--lr", "lr", "lr", positive_number),
    Swept("batch_size", "--batch-size", "batch_size", "batch_size", batch_size_value),
    Swept("clip", "--clip", "clip", "clip", clip_value),
    Swept("weight_decay", "--weight-decay", "weight_decay", "weight_decay", non_negative_number),
)
SWEPT_BY_OPTION = {swept.option: swept for swept in SWEPT}


def parse_grid(value: Any, swept: Swept) -> tuple[Any, ...] | None:
    """A value as given ('1e-3,1e-2', a list, or one number) to the tuple of its settings; None stays None
    (the task's default)."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else [value]
    if not items or any(isinstance(item, str) and not item.strip() for item in items):
        raise BenchInputError(f"{swept.flag}: expected a value or a comma-separated list like 1,2, got {value!r}")
    return tuple(dict.fromkeys(swept.parse(item.strip() if isinstance(item, str) else item, swept.flag)
                               for item in items))
