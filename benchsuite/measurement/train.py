"""The backend-neutral training loop: epochs of steps, each timed; divergence and timeouts end a run early.

Per step the loop starts and stops the session's step timer (on the CPU one integer clock read at each end; on CUDA
two events, read once after training) and, with a timeout, reads the clock once more: measuring must not slow
training, and the only host sync a step pays is the loss readout the divergence check needs.
Validation (where the task has a split) runs after each epoch with the training clock paused, as
AlgoPerf keeps evaluation out of the time it charges to training.

The training recipe the papers use: a learning-rate `Schedule` (constant, or cosine after a linear warmup, as
nanoGPT and Zoology) set before every step, and an optional early stop once validation accuracy reaches a
target (Zoology stops at 0.99).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

from ..backends import Schedule, Session


@dataclass
class EpochRecord:
    """One epoch: training loss and accuracy from its own forward passes, validation figures after it.

    `seconds` is the training time from the start of the run to the end of this epoch (validation excluded);
    `steps` is how many optimizer steps the epoch took; `finished` is False for an epoch a timeout or divergence
    cut short (its figures cover only the steps it took, and it was not validated).
    """

    epoch: int
    loss: float
    accuracy: float
    seconds: float
    steps: int
    valid_loss: float | None = None
    valid_accuracy: float | None = None
    finished: bool = True


@dataclass
class TrainResult:
    status: str  # "ok", "diverged" or "timeout"
    error: str = ""
    stop_reason: str = ""  # why training ended: the epochs ran out, early stop, divergence or timeout
    train_seconds: float = 0.0
    step_seconds: list[float] = field(default_factory=list)
    curve: list[EpochRecord] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.curve)

    @property
    def last_finished(self) -> EpochRecord | None:
        """The last epoch that ran to its end (and was validated), if any."""
        return next((record for record in reversed(self.curve) if record.finished), None)


def train(session: Session, epochs: int, timeout: float | None = None,
          on_epoch: Callable[[EpochRecord], None] | None = None, schedule: Schedule | None = None,
          stop_at: float | None = None) -> TrainResult:
    """Train for `epochs`; stop early as "diverged" on a non-finite loss or "timeout" past `timeout` seconds, and
    (still "ok") once validation accuracy reaches `stop_at` where the task has a validation split.

    `on_epoch` (a progress display) sees each finished epoch while the training clock is paused. The lr follows
    `schedule` (None: constant) over the run's planned steps (epochs x steps per epoch).
    """
    clock = time.perf_counter
    timer = session.step_timer()
    result = TrainResult("ok")
    steps = 0
    started = clock()
    paused = 0.0  # seconds spent validating, kept out of training time
    total_steps = epochs * session.steps_per_epoch()
    scheduled = schedule if schedule is not None and schedule != Schedule() else None  # constant: lr untouched
    result.stop_reason = f"ran its {epochs} epochs"
    for epoch in range(1, epochs + 1):
        loss_sum = correct = counted = 0
        first_step = steps
        for batch in session.batches(epoch):
            if scheduled is not None:
                session.scale_lr(scheduled.scale(steps, total_steps))
            timer.start()
            stats = session.train_step(batch)
            timer.stop()
            steps += 1
            loss_sum += stats.loss * stats.counted
            correct += stats.correct
            counted += stats.counted
            if not math.isfinite(stats.loss):
                result.status, result.error = "diverged", f"loss became {stats.loss} at epoch {epoch}"
                break
            if timeout is not None and clock() - started - paused > timeout:
                result.status, result.error = "timeout", f"stopped after {timeout:g} s, at epoch {epoch}"
                break
        validating = clock()
        record = EpochRecord(epoch, loss_sum / max(counted, 1), correct / max(counted, 1),
                             validating - started - paused, steps - first_step)
        result.curve.append(record)
        if result.status != "ok":
            record.finished = False
            result.stop_reason = result.error
            break
        valid = session.evaluate("valid")
        if valid is not None:
            record.valid_loss, record.valid_accuracy = valid.loss, valid.accuracy
        if on_epoch is not None:
            on_epoch(record)
        paused += clock() - validating
        if stop_at is not None and valid is not None and valid.accuracy >= stop_at and epoch < epochs:
            result.stop_reason = f"early stop: validation accuracy {valid.accuracy:.4f} >= {stop_at:g} at epoch {epoch}"
            break
    result.train_seconds = clock() - started - paused
    result.step_seconds = timer.seconds()
    return result
