"""Matched capacity (`--params N`): for each cell variant, the hidden size whose model has about N parameters.

Counts come from the whole built model (cell and head, or under `block` embedding, norms, MLPs and head too, as
a session builds it for the task's vocabulary), so a plugin cell needs no formula. Counts grow with the hidden
size, so the closest is found by doubling, then bisection.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..backbones import RECIPE_BACKBONES, open_session
from ..backbones.recipes import recipe
from ..backends import TrainingSettings
from ..specs import CellConfig, CellSpec, TaskData
from .tasks import longest_sequence

MAX_HIDDEN = 1 << 14
TOLERANCE = 0.05  # a count further than this share from the target is reported as the closest reachable


@dataclass(frozen=True)
class Match:
    hidden_size: int
    params: int
    target: int

    @property
    def close(self) -> bool:
        return abs(self.params - self.target) <= TOLERANCE * self.target


def count_params(cell: CellSpec, config: CellConfig, data: TaskData, backbone: str = "stack",
                 preset: str | None = None) -> int:
    """Trainable parameters of the whole model a run would train for `config` on `data` under `backbone`."""
    one_row = TaskData(data.vocab, data.x_train[:1], data.y_train[:1])  # the model does not depend on the rows
    shaped = recipe(preset) if backbone in RECIPE_BACKBONES else None
    return open_session(cell, config, one_row, TrainingSettings(lr=1e-3), backbone, shaped).param_count


def matched_hidden(cell: CellSpec, num_layers: int, bidirectional: bool, data: TaskData, target: int,
                   backbone: str = "stack", preset: str | None = None) -> Match:
    """The hidden size whose whole model's parameter count is closest to `target` (the smaller one on a tie)."""
    counts: dict[int, int] = {}
    longest = longest_sequence(data)  # learned positions are a table of this many rows

    def count(hidden: int) -> int:
        if hidden not in counts:
            config = CellConfig(len(data.vocab), hidden, num_layers, bidirectional, longest)
            counts[hidden] = count_params(cell, config, data, backbone, preset)
        return counts[hidden]

    low, high = 1, 1  # invariant once doubling stops: count(high) >= target or high == MAX_HIDDEN
    while count(high) < target and high < MAX_HIDDEN:
        low, high = high, min(2 * high, MAX_HIDDEN)
    while high - low > 1:  # the smallest hidden size reaching the target lies in (low, high]
        middle = (low + high) // 2
        low, high = (middle, high) if count(middle) < target else (low, middle)
    best = min((low, high), key=lambda hidden: (abs(count(hidden) - target), hidden))
    return Match(best, count(best), target)
