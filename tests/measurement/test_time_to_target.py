"""Time-to-target on scripted accuracy curves: the first epoch reaching the target, training time only."""
from __future__ import annotations

import pytest

from benchsuite.errors import BenchInputError
from benchsuite.measurement.measure import time_to_target
from benchsuite.measurement.train import train
from benchsuite.planning.grid import resolve_target
from benchsuite.planning.parsers import check_target
from helpers.sessions import ScriptedSession


def test_first_epoch_reaching_the_target_counts() -> None:
    script = [0.2, 0.5, 0.98, 0.99, 0.97, 1.0]
    result = train(ScriptedSession(script), epochs=len(script))
    epoch, seconds = time_to_target(result.curve, 0.99)
    assert epoch == 4  # 0.98 falls short; later dips do not matter
    assert seconds == result.curve[3].seconds
    assert 0 < result.curve[0].seconds < seconds <= result.train_seconds


def test_never_reached_is_empty() -> None:
    result = train(ScriptedSession([0.1, 0.6, 0.9]), epochs=3)
    assert time_to_target(result.curve, 0.95) == (None, None)


def test_target_reached_in_the_first_epoch() -> None:
    result = train(ScriptedSession([1.0, 1.0]), epochs=2)
    assert time_to_target(result.curve, 0.99)[0] == 1


def test_validation_accuracy_decides_where_the_task_has_a_split() -> None:
    # Training accuracy reaches the target at epoch 2, validation only at epoch 4.
    session = ScriptedSession([0.5, 1.0, 1.0, 1.0, 1.0], valid=[0.3, 0.6, 0.9, 0.95, 0.99])
    result = train(session, epochs=5)
    assert time_to_target(result.curve, 0.95)[0] == 4
    assert [record.valid_accuracy for record in result.curve] == [0.3, 0.6, 0.9, 0.95, 0.99]


def test_validation_time_is_kept_out_of_training_time() -> None:
    sleep, epochs = 0.02, 5
    result = train(ScriptedSession([0.5] * epochs, valid=[0.5] * epochs, validation_sleep=sleep), epochs=epochs)
    assert result.train_seconds < sleep  # five validations took at least 0.1 s, none of it counted
    assert result.curve[-1].seconds <= result.train_seconds


def test_epochs_record_their_step_counts() -> None:
    result = train(ScriptedSession([0.5, 0.7], steps_per_epoch=3), epochs=2)
    assert [record.steps for record in result.curve] == [3, 3]
    assert len(result.step_seconds) == 6


def test_default_target_is_99_percent_of_the_ceiling() -> None:
    assert resolve_target(None, 1.0) == pytest.approx(0.99)
    assert resolve_target(None, 0.5) == pytest.approx(0.495)
    assert resolve_target(None, None) == pytest.approx(0.99)
    assert resolve_target(0.7, 0.5) == 0.7


@pytest.mark.parametrize("value", [0.0, -0.1, 1.01])
def test_targets_outside_0_1_are_rejected(value: float) -> None:
    with pytest.raises(BenchInputError, match="--target"):
        check_target(value)
