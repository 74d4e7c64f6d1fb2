"""Time-to-target, after the AlgoPerf rules: the first evaluation point (here, epoch) at which the
accuracy reaches the target, with the training time spent to get there; nothing when it never does."""
from __future__ import annotations

from typing import Sequence

from ..errors import BenchInputError
from .train import EpochRecord

# The default target is this share of the task's ceiling (of 1.0 where the task states none).
TARGET_SHARE = 0.99


def resolve_target(requested: float | None, ceiling: float | None) -> float:
    """The accuracy a run must reach: `--target` when given, else 0.99 x the ceiling (or 0.99)."""
    if requested is not None:
        return requested
    return TARGET_SHARE * (1.0 if ceiling is None else ceiling)


def check_target(value: float) -> float:
    """A target is an accuracy: above 0 and at most 1."""
    if not 0 < value <= 1:
        raise BenchInputError(f"--target: an accuracy above 0 and at most 1 is expected, got {value}")
    return value


def time_to_target(curve: Sequence[EpochRecord], target: float) -> tuple[int | None, float | None]:
    """(epoch, training seconds) of the first epoch whose accuracy reaches `target`, or (None, None).

    The accuracy checked is the validation accuracy where the task has a split, else the epoch's
    training accuracy, measured by its own forward passes. The choice is made once for the whole curve:
    the last epoch of a run that timed out or diverged is not validated, and its training accuracy must
    not stand in for a validation one.
    """
    validated = any(record.valid_accuracy is not None for record in curve)
    for record in curve:
        accuracy = record.valid_accuracy if validated else record.accuracy
        if accuracy is not None and accuracy >= target:
            return record.epoch, record.seconds
    return None, None
