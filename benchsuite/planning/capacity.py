"""Matched capacity (`--params N`): for each cell variant, the hidden size whose model has about N parameters.

Counts come from the whole built model (cell and head, or under `block` embedding, norms, MLPs and head too, as
a session builds it for the task's vocabulary, with the run's cell options and recipe knobs), so a plugin cell
needs no formula. Counts grow with the hidden size, so the closest is found by doubling, then bisection, over the
sizes the cell's constraint accepts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..backbones import RECIPE_BACKBONES, open_session
from ..backbones.recipes import recipe
from ..backends import TrainingSettings
from ..specs import CellConfig, CellSpec, TaskData
from .cells import refusal
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
                 preset: str | None = None, knobs: Mapping[str, Any] | None = None) -> int:
    """Trainable parameters of the whole model a run would train for `config` on `data` under `backbone`, its
    block recipe `preset` with `knobs` (--backbone-opt) over it; `cell` carries its options bound."""
    one_row = TaskData(data.vocab, data.x_train[:1], data.y_train[:1])  # the model does not depend on the rows
    shaped = recipe(preset, **(knobs or {})) if backbone in RECIPE_BACKBONES else None
    return open_session(cell, config, one_row, TrainingSettings(lr=1e-3), backbone, shaped).param_count


def matched_hidden(cell: CellSpec, num_layers: int, bidirectional: bool, data: TaskData, target: int,
                   backbone: str = "stack", preset: str | None = None, knobs: Mapping[str, Any] | None = None,
                   cell_options: Mapping[str, Any] | None = None) -> Match:
    """The hidden size whose whole model's parameter count is closest to `target` (the smaller one on a tie),
    among those the cell's constraint accepts with `cell_options` (--cell-opt)."""
    options = dict(cell_options or {})
    built = cell.with_options(options)
    longest = longest_sequence(data)  # learned positions are a table of this many rows
    counts: dict[int, int] = {}

    def config(hidden: int) -> CellConfig:
        return CellConfig(len(data.vocab), hidden, num_layers, bidirectional, longest)

    def fitting(hidden: int) -> int:
        """The smallest size from `hidden` up that the constraint accepts (`hidden` itself if none does)."""
        return next((size for size in range(hidden, MAX_HIDDEN + 1) if not refusal(cell, config(size), options)),
                    hidden)

    def count(hidden: int) -> int:  # grows with `hidden`, as `fitting` does
        size = fitting(hidden)
        if size not in counts:
            counts[size] = count_params(built, config(size), data, backbone, preset, knobs)
        return counts[size]

    low, high = 1, 1  # invariant once doubling stops: count(high) >= target or high == MAX_HIDDEN
    while count(high) < target and high < MAX_HIDDEN:
        low, high = high, min(2 * high, MAX_HIDDEN)
    while high - low > 1:  # the smallest hidden size reaching the target lies in (low, high]
        middle = (low + high) // 2
        low, high = (middle, high) if count(middle) < target else (low, middle)
    best = min((fitting(low), fitting(high)), key=lambda hidden: (abs(count(hidden) - target), hidden))
    return Match(best, count(best), target)
