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
from array import array
from dataclasses import dataclass, field
from typing import Callable, Sequence

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


# A run's curve keeps every epoch up to CURVE_EPOCHS; a longer run keeps every k-th (k doubling as it grows) and
# its last, so memory does not grow with epochs (a million epochs once held gigabytes until the row ended).
CURVE_EPOCHS = 2000


class TargetWatch:
    """Time-to-target, after the AlgoPerf rules, watched epoch by epoch (a long run's thinned curve may lack the
    epoch that reached it): the first epoch whose accuracy reaches `target`, with the training time spent to get
    there. The accuracy is the validation accuracy where the task has a split, else the epoch's training accuracy;
    the choice is made once for the whole run, as the last epoch of a run that timed out or diverged is not
    validated, and its training accuracy must not stand in for a validation one."""

    def __init__(self, target: float) -> None:
        self.target, self.validated = target, False
        self.by_valid: tuple[int, float] | None = None
        self.by_train: tuple[int, float] | None = None

    def see(self, record: EpochRecord) -> None:
        if record.valid_accuracy is not None:
            self.validated = True
            if self.by_valid is None and record.valid_accuracy >= self.target:
                self.by_valid = (record.epoch, record.seconds)
        if self.by_train is None and record.accuracy >= self.target:
            self.by_train = (record.epoch, record.seconds)

    @property
    def reached(self) -> tuple[int | None, float | None]:
        """(epoch, training seconds) of the first epoch reaching the target, or (None, None)."""
        return (self.by_valid if self.validated else self.by_train) or (None, None)


@dataclass
class TrainResult:
    status: str  # "ok", "diverged" or "timeout"
    error: str = ""
    stop_reason: str = ""  # why training ended: the epochs ran out, early stop, divergence or timeout
    train_seconds: float = 0.0
    step_seconds: Sequence[float] = ()  # every step's time, eight bytes each
    curve: list[EpochRecord] = field(default_factory=list)  # every epoch, or a long run's thinned (CURVE_EPOCHS)
    epochs: int = 0  # epochs trained, whether or not the curve kept each
    epoch_ends: array = field(default_factory=lambda: array("q"))  # steps taken by the end of each epoch
    last_finished: EpochRecord | None = None  # the last epoch that ran to its end (and was validated)
    target: TargetWatch | None = None
    _stride: int = field(default=1, init=False, repr=False)  # the curve keeps epochs 1, 1 + stride, ...
    _latest: EpochRecord | None = field(default=None, init=False, repr=False)

    def keep(self, record: EpochRecord) -> None:
        """Count an epoch that has ended (validated, or cut short), and put it on the curve if it falls on the
        stride, which doubles when the curve outgrows CURVE_EPOCHS."""
        self.epochs += 1
        self.epoch_ends.append(self.epoch_ends[-1] + record.steps if self.epoch_ends else record.steps)
        self._latest = record
        if record.finished:
            self.last_finished = record
        if self.target is not None:
            self.target.see(record)
        if (record.epoch - 1) % self._stride == 0:
            self.curve.append(record)
        if len(self.curve) > CURVE_EPOCHS:
            self._stride *= 2
            self.curve = [kept for kept in self.curve if (kept.epoch - 1) % self._stride == 0]

    def close_curve(self) -> None:
        """End the curve with the last epoch, kept whatever the stride."""
        if self._latest is not None and (not self.curve or self.curve[-1] is not self._latest):
            self.curve.append(self._latest)


def train(session: Session, epochs: int, timeout: float | None = None,
          on_epoch: Callable[[EpochRecord], None] | None = None, schedule: Schedule | None = None,
          stop_at: float | None = None, target: float | None = None) -> TrainResult:
    """Train for `epochs`; stop early as "diverged" on a non-finite loss or "timeout" past `timeout` seconds, and
    (still "ok") once validation accuracy reaches `stop_at` where the task has a validation split. With `target`,
    the result's `target` watches for the first epoch that reaches it.

    `on_epoch` (a progress display) sees each finished epoch while the training clock is paused. The lr follows
    `schedule` (None: constant) over the run's planned steps (epochs x steps per epoch).
    """
    clock = time.perf_counter
    timer = session.step_timer()
    result = TrainResult("ok", target=None if target is None else TargetWatch(target))
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
        if result.status != "ok":
            record.finished = False
            result.stop_reason = result.error
            result.keep(record)
            break
        valid = session.evaluate("valid")
        if valid is not None:
            record.valid_loss, record.valid_accuracy = valid.loss, valid.accuracy
        result.keep(record)
        if on_epoch is not None:
            on_epoch(record)
        paused += clock() - validating
        if stop_at is not None and valid is not None and valid.accuracy >= stop_at and epoch < epochs:
            result.stop_reason = f"early stop: validation accuracy {valid.accuracy:.4f} >= {stop_at:g} at epoch {epoch}"
            break
    result.train_seconds = clock() - started - paused
    result.step_seconds = timer.seconds()
    result.close_curve()
    return result
