"""A run's memory does not grow with its epochs (issue 29: 1M epochs of a 90-parameter model held 3.2 GB of curve
points and step samples until its row ended): curves and step samples are thinned to a bounded count, while
time-to-target, the step-time spread and the last epoch stay exact."""
from __future__ import annotations

import statistics
import tracemalloc

from benchsuite.measurement.measure import measure
from helpers.sessions import ScriptedSession

TARGET = 0.9


def session_reaching(epochs: int, reached_at: int) -> ScriptedSession:
    """A run of `epochs` one-step epochs whose accuracy reaches TARGET at epoch `reached_at`."""
    return ScriptedSession([0.5] * (reached_at - 1) + [0.95] * (epochs - reached_at + 1))


def peak_bytes(epochs: int) -> int:
    """The peak memory `measure` allocates for a run of `epochs` (what it imports on first use left out)."""
    measure(session_reaching(10, 5), 10, None, TARGET)
    session = session_reaching(epochs, epochs // 2)
    tracemalloc.start()
    try:
        measure(session, epochs, None, TARGET)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_epochs() -> None:
    # Both runs are long enough to be thinned: what grows is a few eight-byte numbers per step and epoch (its time,
    # its epoch's end) and a curve point now and then; it was 1.1 kB an epoch.
    per_epoch = (peak_bytes(36_000) - peak_bytes(12_000)) / 24_000
    assert per_epoch < 100, per_epoch


def test_a_long_run_keeps_its_figures_exact_and_its_curve_thinned() -> None:
    epochs, reached_at = 40_000, 31_234
    measured = measure(session_reaching(epochs, reached_at), epochs, None, TARGET)
    assert measured.fields["epochs"] == epochs
    assert measured.fields["epochs_to_target"] == reached_at  # not the next epoch a thinned curve kept
    curve_epochs = sorted({point["epoch"] for point in measured.curve})
    assert curve_epochs[0] == 1 and curve_epochs[-1] == epochs  # the first and the last epoch are always kept
    assert 1_000 <= len(curve_epochs) <= 2_100
    steps = [sample for sample in measured.samples if sample["metric"] == "step_ms"]
    assert 5_000 <= len(steps) <= 20_100
    assert steps[0]["sample"] == 1 and steps[0]["warmup"] and steps[-1]["sample"] == epochs
    assert all(sample["epoch"] == sample["sample"] for sample in steps)  # one step per epoch: step n is in epoch n
    # The spread is over every step, not the kept samples: the kept ones' median is close, not necessarily equal.
    kept_median = statistics.median(sample["value"] for sample in steps if not sample["warmup"])
    assert abs(measured.fields["step_ms_median"] - kept_median) < 0.5 * kept_median


def test_a_short_run_keeps_every_epoch_and_step() -> None:
    measured = measure(session_reaching(300, 120), 300, None, TARGET)
    assert sorted({point["epoch"] for point in measured.curve}) == list(range(1, 301))
    assert [sample["sample"] for sample in measured.samples if sample["metric"] == "step_ms"] == list(range(1, 301))
    assert measured.fields["epochs_to_target"] == 120
