"""`bench compare`: match two sides variant by variant and say, metric by metric, what got worse for real.

A change counts as a regression only when it is both beyond the metric's threshold and significant
(see significance.py); beyond the threshold but not significant is "uncertain", and a timing from too few runs
for the test is "too_few_runs" (listed, never gated on). Rows that newly fail count like regressions; variants
on one side only, variants lost in B (every row skipped or without figures where A had some), and changed
settings are listed for the reader.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import BenchInputError
from ..results.metrics import METRICS, Metric
from ..results.schema import FAILED_STATUSES as FAILED
from .inputs import Key, Outcome, Side, load_side
from .significance import DEFAULT_ALPHA, TOO_FEW, Evidence, Measurement, judge

VERDICTS = ("regressed", "uncertain", "too_few_runs", "improved", "same")


@dataclass(frozen=True)
class MetricChange:
    key: Key
    metric: Metric
    a: Measurement
    b: Measurement
    evidence: Evidence
    verdict: str  # one of VERDICTS

    @property
    def ratio(self) -> float:
        """B's figure over A's (nan when both are zero or both never happened)."""
        a, b = self.a.center, self.b.center
        if a == b:
            return 1.0 if math.isfinite(a) else math.nan
        return math.inf if a == 0 else b / a


@dataclass(frozen=True)
class NewFailure:
    key: Key
    outcome: Outcome


@dataclass(frozen=True)
class SettingChange:
    key: Key
    name: str
    a: tuple[Any, ...]
    b: tuple[Any, ...]


@dataclass
class Comparison:
    a: Side
    b: Side
    alpha: float
    changes: list[MetricChange] = field(default_factory=list)
    new_failures: list[NewFailure] = field(default_factory=list)
    setting_changes: list[SettingChange] = field(default_factory=list)
    only_a: list[Key] = field(default_factory=list)
    only_b: list[Key] = field(default_factory=list)
    lost: list[Key] = field(default_factory=list)  # figures in A, none in B (all skipped or blank)
    environment: list[tuple[str, str, str]] = field(default_factory=list)  # (fact, A's, B's)

    @property
    def key_columns(self) -> tuple[str, ...]:
        return self.a.key_columns

    def with_verdict(self, verdict: str) -> list[MetricChange]:
        return [change for change in self.changes if change.verdict == verdict]

    @property
    def regressed(self) -> bool:
        """What `bench compare` exits 1 on: a significant regression or a newly failing row."""
        return bool(self.with_verdict("regressed") or self.new_failures)


def verdict(metric: Metric, a: Measurement, b: Measurement, evidence: Evidence) -> str:
    """Beyond the threshold and significant: regressed or improved; beyond it only: uncertain."""
    direction = metric.worse_beyond(a.center, b.center)
    if direction == 0:
        return "same"
    if evidence.test == TOO_FEW:
        return "too_few_runs"
    if not evidence.significant:
        return "uncertain"
    return "regressed" if direction > 0 else "improved"


def _never_on_both(a: Measurement, b: Measurement) -> bool:
    return all(math.isinf(v) for v in a.values + b.values)


def _new_failures(key: Key, before: list[Outcome], after: list[Outcome]) -> list[NewFailure]:
    """B's failed rows whose seed did not fail in A."""
    failing_before = {outcome.seed for outcome in before if outcome.status in FAILED}
    return [NewFailure(key, outcome) for outcome in after
            if outcome.status in FAILED and outcome.seed not in failing_before]


def compare_sides(a: Side, b: Side, metrics: Mapping[str, Metric] = METRICS,
                  alpha: float = DEFAULT_ALPHA) -> Comparison:
    """Every matched variant's metrics, new failures and setting changes; unmatched variants listed."""
    if a.kind != b.kind:
        raise BenchInputError(f"cannot compare a {a.kind} ({a.source}) with a {b.kind} ({b.source}): "
                              f"give two of the same kind")
    result = Comparison(a, b, alpha)
    result.only_a = sorted(set(a.entries) - set(b.entries))
    result.only_b = sorted(set(b.entries) - set(a.entries))
    for key in sorted(set(a.entries) & set(b.entries)):
        before, after = a.entries[key], b.entries[key]
        if before.measurements and not after.measurements:
            result.lost.append(key)
        for name, metric in metrics.items():
            ma, mb = before.measurements.get(name), after.measurements.get(name)
            if ma is None or mb is None or _never_on_both(ma, mb):
                continue
            evidence = judge(ma, mb, alpha, metric.timed)
            result.changes.append(MetricChange(key, metric, ma, mb, evidence, verdict(metric, ma, mb, evidence)))
        result.new_failures += _new_failures(key, before.outcomes, after.outcomes)
        result.setting_changes += [SettingChange(key, name, before.settings[name], after.settings[name])
                                   for name in before.settings
                                   if name in after.settings and before.settings[name] != after.settings[name]]
    for key in result.only_b:  # a variant B added that fails is a new failure too
        result.new_failures += _new_failures(key, [], b.entries[key].outcomes)
    result.environment = [(fact, a.environment[fact], b.environment[fact]) for fact in a.environment
                          if fact in b.environment and a.environment[fact] != b.environment[fact]]
    return result


def compare_paths(source_a: str, source_b: str, metrics: Mapping[str, Metric] = METRICS,
                  alpha: float = DEFAULT_ALPHA) -> Comparison:
    """Load both sides from what the user typed, then compare them."""
    if not 0 < alpha < 1:
        raise BenchInputError(f"--alpha {alpha}: a significance level is between 0 and 1, e.g. 0.002")
    return compare_sides(load_side(source_a), load_side(source_b), metrics, alpha)
