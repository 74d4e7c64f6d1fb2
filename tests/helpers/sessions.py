"""A scripted stand-in for a backend session, for tests of the training loop."""
from __future__ import annotations

import time

from benchsuite.backends import EvalStats, Footprint, HostStepTimer, StepStats


class ScriptedSession:
    """A stand-in model whose epoch accuracies (training, and validation if given) follow a script."""

    param_count = 0

    def __init__(self, accuracies: list[float], valid: list[float] | None = None, steps_per_epoch: int = 1,
                 validation_sleep: float = 0.0) -> None:
        self.accuracies, self.valid = accuracies, valid
        self.steps, self.validation_sleep = steps_per_epoch, validation_sleep
        self.epoch = 0
        self.lr_scales: list[float] = []  # each scale_lr call, in order

    def batches(self, epoch: int) -> list[int]:
        self.epoch = epoch
        return list(range(self.steps))

    def steps_per_epoch(self) -> int:
        return self.steps

    def scale_lr(self, scale: float) -> None:
        self.lr_scales.append(scale)

    def train_step(self, batch: int) -> StepStats:
        counted = 100
        return StepStats(1.0 / self.epoch, round(self.accuracies[self.epoch - 1] * counted), counted)

    def evaluate(self, split: str) -> EvalStats | None:
        if split != "valid" or self.valid is None:
            return None
        time.sleep(self.validation_sleep)
        return EvalStats(0.5, self.valid[self.epoch - 1])

    def infer(self, batch: int) -> int:
        return 1

    def step_timer(self) -> HostStepTimer:
        return HostStepTimer()

    def synchronize(self) -> None:
        pass

    def footprint(self, batch: int) -> Footprint:
        return Footprint(0, 0, 0)
