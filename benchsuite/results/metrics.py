"""What each measured runs.csv column means: which way is better, and how big a change matters (compare, reports)."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterable, Mapping

from ..errors import BenchInputError

DEFAULT_FACTOR = 1.10  # times and memory: a change beyond 10% counts
DEFAULT_ABSOLUTE = 0.01  # accuracies (and losses, in nats or bits): a change beyond 0.01 counts


@dataclass(frozen=True)
class Metric:
    """A measured figure: `threshold` is an absolute difference when `absolute`, else a factor (> 1)."""

    name: str
    higher_is_better: bool
    absolute: bool
    threshold: float
    blank_means_never: bool = False  # time-to-target columns are empty when the target was never reached
    timed: bool = False  # a clock reading: noisy even from one seed, unlike losses and accuracies on the CPU

    def worse_beyond(self, a: float, b: float) -> int:
        """+1 when B is worse than A beyond the threshold, -1 when better beyond it, 0 otherwise."""
        if a == b:  # also covers two infinities ("never" on both sides)
            return 0
        if self.absolute:
            worse = (a - b) if self.higher_is_better else (b - a)
            return 1 if worse > self.threshold else -1 if worse < -self.threshold else 0
        factor = worse_factor(a, b, self.higher_is_better)
        return 1 if factor > self.threshold else -1 if factor < 1 / self.threshold else 0


def worse_factor(a: float, b: float, higher_is_better: bool) -> float:
    """How many times worse B is than A (below 1: better); zero and infinite values handled."""
    before, after = (b, a) if higher_is_better else (a, b)
    if before == after:
        return 1.0
    if before == 0:
        return math.inf
    return after / before


def _metrics(*metrics: Metric) -> dict[str, Metric]:
    return {metric.name: metric for metric in metrics}


METRICS = _metrics(
    Metric("accuracy", True, True, DEFAULT_ABSOLUTE),
    Metric("valid_accuracy", True, True, DEFAULT_ABSOLUTE),
    Metric("final_loss", False, True, DEFAULT_ABSOLUTE),
    Metric("valid_loss", False, True, DEFAULT_ABSOLUTE),
    Metric("bpc", False, True, DEFAULT_ABSOLUTE),
    Metric("test_accuracy", True, True, DEFAULT_ABSOLUTE),
    Metric("test_loss", False, True, DEFAULT_ABSOLUTE),
    Metric("test_bpc", False, True, DEFAULT_ABSOLUTE),
    Metric("epochs_to_target", False, False, DEFAULT_FACTOR, blank_means_never=True),
    Metric("seconds_to_target", False, False, DEFAULT_FACTOR, blank_means_never=True, timed=True),
    Metric("train_seconds", False, False, DEFAULT_FACTOR, timed=True),
    Metric("step_ms_median", False, False, DEFAULT_FACTOR, timed=True),
    Metric("infer_ms_median", False, False, DEFAULT_FACTOR, timed=True),
    Metric("chars_per_second", True, False, DEFAULT_FACTOR, timed=True),
    Metric("peak_memory_mb", False, False, DEFAULT_FACTOR, timed=True),
    Metric("param_bytes", False, False, DEFAULT_FACTOR),  # counted from the model: the same on every run
    Metric("optimizer_bytes", False, False, DEFAULT_FACTOR),
    Metric("activation_bytes", False, False, DEFAULT_FACTOR),
    Metric("compile_seconds", False, False, DEFAULT_FACTOR, timed=True),  # blank when the model was not compiled
    Metric("time_ms", False, False, DEFAULT_FACTOR, timed=True),  # a pytest-benchmark median
)
# Settings rather than outcomes: a difference is reported exactly, as a sign the sides did not run alike.
SETTINGS = ("params", "ceiling", "chance", "epochs", "lr", "batch_size", "threads", "target", "state_size",
            "params_target", "clip", "weight_decay", "cell_options", "cell_plugin", "cell_plugin_version",
            "task_plugin", "task_plugin_version", "precision", "params_mixer", "stop_reason", "recipe",
            "lr_floor")
# Columns compare reads for neither: identity, status, flags, spreads within one run (a run's figure is its
# median; the runs are the samples), the prediction text, the extra figures (no declared direction to judge), and
# the code that measured a row (comparing two versions of the code is what compare is for).
NOT_COMPARED = ("schema_version", "seed", "status", "error", "step_ms_iqr", "infer_ms_iqr", "step_ms_noisy",
                "prediction", "partial", "extras", "code_version")


def parse_thresholds(pairs: Iterable[str], metrics: Mapping[str, Metric] = METRICS) -> dict[str, Metric]:
    """The metric table with `--threshold METRIC=VALUE` overrides applied."""
    chosen = dict(metrics)
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or name not in chosen:
            raise BenchInputError(f"--threshold {pair!r}: expected METRIC=VALUE with METRIC one of "
                                  f"{', '.join(sorted(chosen))}")
        try:
            value = float(text)
        except ValueError:
            raise BenchInputError(f"--threshold {pair!r}: {text!r} is not a number") from None
        metric = chosen[name]
        if metric.absolute and not value >= 0:
            raise BenchInputError(f"--threshold {pair!r}: {name} takes an absolute difference, at least 0")
        if not metric.absolute and not (value >= 1 and math.isfinite(value)):
            raise BenchInputError(f"--threshold {pair!r}: {name} takes a factor, at least 1 (e.g. 1.10 for 10%)")
        chosen[name] = replace(metric, threshold=value)
    return chosen
