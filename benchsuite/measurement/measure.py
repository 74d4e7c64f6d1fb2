"""Measure one opened session: train it, then turn what happened into row fields (time-to-target among them), curve
points and timing samples."""
from __future__ import annotations

import bisect
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..backends import Schedule, Session
from ..results.schema import SPLIT_COLUMNS
from .slices import Slicing, slice_points
from .timing import InferenceTiming, step_spread, time_inference, warmup_count
from .train import EpochRecord, TargetWatch, TrainResult, train


@dataclass
class Measured:
    """Fields for the runs.csv row, points for curves.csv, samples for samples.csv and points for slices.csv."""

    fields: dict[str, Any]
    curve: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    slices: list[dict[str, Any]] = field(default_factory=list)


# samples.csv keeps about this many training steps of a run at most, so its size does not grow with epochs.
STEP_SAMPLES = 10_000


def curve_points(result: TrainResult) -> list[dict[str, Any]]:
    """Per epoch: training loss and accuracy, training time so far, and validation figures where measured."""
    points = []
    for record in result.curve:
        figures = {"loss": record.loss, "accuracy": record.accuracy, "train_seconds": record.seconds,
                   "valid_loss": record.valid_loss, "valid_accuracy": record.valid_accuracy}
        points += [{"epoch": record.epoch, "metric": metric, "value": value}
                   for metric, value in figures.items() if value is not None]
    return points


def step_samples(result: TrainResult) -> list[dict[str, Any]]:
    """One sample per training step, in ms, with its epoch, the warm-up steps marked; a run of more than
    STEP_SAMPLES steps keeps every k-th step and its last (its median and IQR are over every step)."""
    count = len(result.step_seconds)
    warmup = warmup_count(count)
    kept = list(range(1, count + 1, max(1, math.ceil(count / STEP_SAMPLES))))
    if kept and kept[-1] != count:
        kept.append(count)
    return [{"metric": "step_ms", "sample": index, "epoch": bisect.bisect_left(result.epoch_ends, index) + 1,
             "warmup": index <= warmup, "value": result.step_seconds[index - 1] * 1e3}
            for index in kept]


def inference_samples(timing: InferenceTiming) -> list[dict[str, Any]]:
    """One sample per timed forward pass, in ms (warm-up passes are never timed)."""
    return [{"metric": "infer_ms", "sample": index, "epoch": None, "warmup": False, "value": seconds * 1e3}
            for index, seconds in enumerate(timing.seconds, start=1)]


def _final_figures(session: Session, slicing: Slicing) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The trained model's figures on every split the task has, and its accuracy per slice of the held-out ones."""
    fields, points = {}, []
    for split, columns in SPLIT_COLUMNS.items():
        stats = session.evaluate(split)
        if stats is None:
            continue
        fields.update({columns.loss: stats.loss, columns.accuracy: stats.accuracy})
        if columns.bpc is not None:
            fields[columns.bpc] = stats.loss / math.log(2)
        points += slice_points(slicing, split, stats)
    return fields, points


def partial_figures(result: TrainResult) -> dict[str, Any]:
    """A timed-out run's figures from its last finished epoch: training loss and accuracy as measured during that
    epoch's steps (not a final evaluation, so marked partial) and its validation figures."""
    record = result.last_finished
    if record is None:
        return {}
    fields: dict[str, Any] = {"final_loss": record.loss, "accuracy": record.accuracy, "partial": True,
                              "error": f"{result.error}; figures are from epoch {record.epoch}, the last finished"}
    if record.valid_loss is not None:
        fields.update(valid_loss=record.valid_loss, valid_accuracy=record.valid_accuracy,
                      bpc=record.valid_loss / math.log(2))
    return fields


def time_to_target(curve: Sequence[EpochRecord], target: float) -> tuple[int | None, float | None]:
    """(epoch, training seconds) of the first epoch of `curve` whose accuracy reaches `target`, or (None, None), by
    TargetWatch's rule."""
    watch = TargetWatch(target)
    for record in curve:
        watch.see(record)
    return watch.reached


UNSLICED = Slicing()  # a task without slices (frozen, so one shared default is safe)


def measure(session: Session, epochs: int, timeout: float | None, target: float,
            on_epoch: Callable[[EpochRecord], None] | None = None, slicing: Slicing = UNSLICED,
            schedule: Schedule | None = None, stop_at: float | None = None) -> Measured:
    """Train `session` (with the lr `schedule`, stopping early at validation accuracy `stop_at`) and measure it:
    quality (per slice where the task has slices), step-time spread, time-to-target, and (if it trained)
    inference."""
    result = train(session, epochs, timeout, on_epoch, schedule, stop_at, target)
    spread = step_spread(result.step_seconds)
    epochs_to_target, seconds_to_target = result.target.reached
    measured = Measured(
        {"status": result.status, "error": result.error, "epochs": result.epochs,
         "train_seconds": result.train_seconds, "step_ms_median": spread.median_ms, "step_ms_iqr": spread.iqr_ms,
         "step_ms_noisy": spread.noisy, "target": target, "epochs_to_target": epochs_to_target,
         "seconds_to_target": seconds_to_target, "stop_reason": result.stop_reason},
        curve_points(result), step_samples(result))
    if result.status == "timeout":
        measured.fields.update(partial_figures(result))
    if result.status == "ok":
        figures, measured.slices = _final_figures(session, slicing)
        measured.fields.update(figures, partial=False)
        batch = next(iter(session.batches(1)))
        inference = time_inference(session, batch)
        measured.fields.update(infer_ms_median=inference.spread.median_ms, infer_ms_iqr=inference.spread.iqr_ms,
                               chars_per_second=inference.chars_per_second)
        measured.fields.update(dataclasses.asdict(session.footprint(batch)))
        measured.samples += inference_samples(inference)
    return measured
