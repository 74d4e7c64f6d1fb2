"""Time-to-target, after the AlgoPerf rules: the first evaluation point (here, epoch) at which the
accuracy reaches the target, with the training time spent to get there; nothing when it never does."""
from __future__ import annotations

from typing import Sequence

from .train import EpochRecord


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
