"""The backend-neutral training loop: epochs of steps, each timed; divergence and timeouts end a run early."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

from .backends import Session


@dataclass
class EpochRecord:
    """Training loss and accuracy over one epoch, as measured by its own forward passes."""

    epoch: int
    loss: float
    accuracy: float


@dataclass
class TrainResult:
    status: str  # "ok", "diverged" or "timeout"
    error: str = ""
    train_seconds: float = 0.0
    step_seconds: list[float] = field(default_factory=list)
    curve: list[EpochRecord] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.curve)


def train(session: Session, epochs: int, timeout: float | None = None,
          on_epoch: Callable[[EpochRecord], None] | None = None) -> TrainResult:
    """Train for `epochs`; stop early as "diverged" on a non-finite loss or "timeout" past `timeout` seconds.

    `on_epoch` (for progress displays) is called after each epoch, outside the timed steps.
    """
    clock = time.perf_counter
    result = TrainResult("ok")
    steps = result.step_seconds
    started = clock()
    for epoch in range(1, epochs + 1):
        loss_sum = correct = counted = 0
        for batch in session.batches(epoch):
            step_started = clock()
            stats = session.train_step(batch)
            session.synchronize()
            steps.append(clock() - step_started)
            loss_sum += stats.loss * stats.counted
            correct += stats.correct
            counted += stats.counted
            if not math.isfinite(stats.loss):
                result.status, result.error = "diverged", f"loss became {stats.loss} at epoch {epoch}"
                break
            if timeout is not None and clock() - started > timeout:
                result.status, result.error = "timeout", f"stopped after {timeout:g} s, at epoch {epoch}"
                break
        result.curve.append(EpochRecord(epoch, loss_sum / max(counted, 1), correct / max(counted, 1)))
        if on_epoch is not None:
            on_epoch(result.curve[-1])
        if result.status != "ok":
            break
    result.train_seconds = clock() - started
    return result
