"""Accuracy per slice of a held-out split: its rows grouped by the value the task gave each (e.g. string length)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..backends import EvalStats
from ..specs import HELD_OUT, TaskData


@dataclass(frozen=True)
class Slicing:
    """What the slices are called and, per held-out split, one slice value per row."""

    name: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)


def task_slicing(data: TaskData) -> Slicing:
    """The slices a task declares, for the held-out splits it has."""
    values = {split: getattr(data, f"{split}_slices") for split in HELD_OUT
              if getattr(data, f"{split}_slices") is not None}
    return Slicing(data.slice_name or "slice", values)


def slice_points(slicing: Slicing, split: str, stats: EvalStats) -> list[dict[str, Any]]:
    """One point per slice value with targets to count: the accuracy over its rows and how many targets."""
    import numpy as np

    if split not in slicing.values:
        return []
    keys, groups = np.unique(np.asarray(slicing.values[split]), return_inverse=True)
    right = np.bincount(groups, weights=stats.row_correct, minlength=len(keys))
    counted = np.bincount(groups, weights=stats.row_counted, minlength=len(keys))
    return [{"split": split, "slice_name": slicing.name, "slice": int(key), "value": hits / total,
             "count": int(total)}
            for key, hits, total in zip(keys, right, counted) if total > 0]
