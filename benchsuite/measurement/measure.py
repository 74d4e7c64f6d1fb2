"""Measure one opened session: train it, then turn what happened into row fields, curve points and timing samples."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from ..backends import Session
from .target import time_to_target
from .timing import InferenceTiming, step_spread, time_inference, warmup_count
from .train import EpochRecord, TrainResult, train


@dataclass
class Measured:
    """Fields for the runs.csv row, points for curves.csv and samples for samples.csv."""

    fields: dict[str, Any]
    curve: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)


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
    """One sample per training step, in ms, with its epoch; the warm-up steps marked."""
    epochs = [record.epoch for record in result.curve for _ in range(record.steps)]
    warmup = warmup_count(len(result.step_seconds))
    return [{"metric": "step_ms", "sample": index, "epoch": epoch, "warmup": index <= warmup,
             "value": seconds * 1e3}
            for index, (epoch, seconds) in enumerate(zip(epochs, result.step_seconds), start=1)]


def inference_samples(timing: InferenceTiming) -> list[dict[str, Any]]:
    """One sample per timed forward pass, in ms (warm-up passes are never timed)."""
    return [{"metric": "infer_ms", "sample": index, "epoch": None, "warmup": False, "value": seconds * 1e3}
            for index, seconds in enumerate(timing.seconds, start=1)]


def _final_figures(session: Session) -> dict[str, Any]:
    trained = session.evaluate("train")
    fields = {"final_loss": trained.loss, "accuracy": trained.accuracy}
    valid = session.evaluate("valid")
    if valid is not None:
        fields.update(valid_loss=valid.loss, valid_accuracy=valid.accuracy, bpc=valid.loss / math.log(2))
    return fields


def measure(session: Session, epochs: int, timeout: float | None, target: float,
            on_epoch: Callable[[EpochRecord], None] | None = None) -> Measured:
    """Train `session` and measure it: quality, step-time spread, time-to-target, and (if it trained) inference."""
    result = train(session, epochs, timeout, on_epoch)
    spread = step_spread(result.step_seconds)
    epochs_to_target, seconds_to_target = time_to_target(result.curve, target)
    measured = Measured(
        {"status": result.status, "error": result.error, "epochs": result.epochs,
         "train_seconds": result.train_seconds, "step_ms_median": spread.median_ms, "step_ms_iqr": spread.iqr_ms,
         "step_ms_noisy": spread.noisy, "target": target, "epochs_to_target": epochs_to_target,
         "seconds_to_target": seconds_to_target},
        curve_points(result), step_samples(result))
    if result.status == "ok":
        measured.fields.update(_final_figures(session))
        batch = next(iter(session.batches(1)))
        inference = time_inference(session, batch)
        measured.fields.update(infer_ms_median=inference.spread.median_ms, infer_ms_iqr=inference.spread.iqr_ms,
                               chars_per_second=inference.chars_per_second)
        measured.fields.update(dataclasses.asdict(session.footprint(batch)))
        measured.samples += inference_samples(inference)
    return measured
