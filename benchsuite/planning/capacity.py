"""Matched capacity (`--params N`): for each cell variant, the hidden size whose model has about N parameters.

Counts come from the built model (cell and head, as a session builds them for the task's vocabulary), so a
plugin cell needs no formula. Counts grow with the hidden size, so the closest is found by doubling, then bisection.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..backbones import open_session
from ..backends import TrainingSettings
from ..specs import CellConfig, CellSpec, TaskData

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


def count_params(cell: CellSpec, config: CellConfig, data: TaskData) -> int:
    """Trainable parameters of the model a run would train for `config` on `data` (cell and head)."""
    one_row = TaskData(data.vocab, data.x_train[:1], data.y_train[:1])  # the model does not depend on the rows
    return open_session(cell, config, one_row, TrainingSettings(lr=1e-3)).param_count


def matched_hidden(cell: CellSpec, num_layers: int, bidirectional: bool, data: TaskData, target: int) -> Match:
    """The hidden size whose parameter count is closest to `target` (the smaller one on a tie)."""
    counts: dict[int, int] = {}

    def count(hidden: int) -> int:
        if hidden not in counts:
            counts[hidden] = count_params(cell, CellConfig(len(data.vocab), hidden, num_layers, bidirectional), data)
        return counts[hidden]

    low, high = 1, 1  # invariant once doubling stops: count(high) >= target or high == MAX_HIDDEN
    while count(high) < target and high < MAX_HIDDEN:
        low, high = high, min(2 * high, MAX_HIDDEN)
    while high - low > 1:  # the smallest hidden size reaching the target lies in (low, high]
        middle = (low + high) // 2
        low, high = (middle, high) if count(middle) < target else (low, middle)
    best = min((low, high), key=lambda hidden: (abs(count(hidden) - target), hidden))
    return Match(best, count(best), target)
