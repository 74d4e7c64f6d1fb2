"""The training recipe in the loop: warmup then cosine decay of the lr, set before every step, and early stop once
validation accuracy reaches its target."""
from __future__ import annotations

import math

import pytest

from benchsuite.backends import Schedule
from benchsuite.measurement.train import train
from helpers.sessions import ScriptedSession


def test_cosine_after_warmup_follows_half_a_cosine_to_the_floor() -> None:
    session = ScriptedSession([0.5] * 4, steps_per_epoch=3)
    train(session, epochs=4, schedule=Schedule("cosine", warmup=2, floor=0.1))
    total, warmup = 12, 2
    # Written out: steps 0 and 1 rise to 1/2 and 2/2; steps 2..11 fall from 1 to the floor along half a cosine.
    expected = [1 / 2, 2 / 2] + [0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * k / (total - 1 - warmup)))
                                 for k in range(total - warmup)]
    assert session.lr_scales == pytest.approx(expected)
    assert session.lr_scales[-1] == pytest.approx(0.1)


def test_a_constant_schedule_leaves_the_lr_alone_and_warmup_alone_ramps_then_holds() -> None:
    constant = ScriptedSession([0.5] * 2, steps_per_epoch=2)
    train(constant, epochs=2)
    assert constant.lr_scales == []
    warm = ScriptedSession([0.5] * 2, steps_per_epoch=2)
    train(warm, epochs=2, schedule=Schedule("constant", warmup=3))
    assert warm.lr_scales == pytest.approx([1 / 3, 2 / 3, 1.0, 1.0])


def test_early_stop_ends_at_the_first_epoch_whose_validation_reaches_the_target() -> None:
    result = train(ScriptedSession([0.5] * 6, valid=[0.5, 0.98, 0.995, 1.0, 1.0, 1.0]), epochs=6, stop_at=0.99)
    assert result.status == "ok"
    assert result.epochs == 3
    assert result.stop_reason == "early stop: validation accuracy 0.9950 >= 0.99 at epoch 3"
    ran = train(ScriptedSession([0.5] * 3, valid=[0.1, 0.2, 0.3]), epochs=3, stop_at=0.99)
    assert (ran.epochs, ran.stop_reason) == (3, "ran its 3 epochs")


def test_an_unknown_schedule_is_refused() -> None:
    with pytest.raises(ValueError, match="schedule must be one of constant, cosine"):
        Schedule("linear")


def test_lr_floor_sets_where_a_cosine_run_ends_and_rows_record_it(tmp_path, monkeypatch) -> None:
    import benchsuite
    from benchsuite.backends.torch_backend import TorchSession

    used = []
    step = TorchSession.train_step

    def recording_step(self, batch):
        used.append(self.optimizer.param_groups[0]["lr"])  # the lr this step updates with
        return step(self, batch)

    monkeypatch.setattr(TorchSession, "train_step", recording_step)
    lr, floor, epochs = 0.02, 0.25, 6  # apple trains on its whole split at once: one step per epoch
    result = benchsuite.run("apple", "gru", hidden="4", epochs=str(epochs), lr=str(lr), schedule="constant,cosine",
                            lr_floor=floor, out=str(tmp_path))
    # The cosine row's steps, written out: lr (floor + (1 - floor) (1 + cos(pi k / (n - 1))) / 2), k = 0 .. n - 1.
    expected = [lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * k / (epochs - 1)))) for k in range(epochs)]
    constant = [lr] * epochs
    assert used in (pytest.approx(constant + expected), pytest.approx(expected + constant))  # either row first
    runs = result.runs.set_index("schedule")
    assert runs.loc["cosine", "lr_floor"] == floor
    assert math.isnan(runs.loc["constant", "lr_floor"])  # a constant lr has no floor to record


def test_an_lr_floor_outside_0_to_1_is_refused() -> None:
    from benchsuite.errors import BenchInputError
    from benchsuite.planning.options import RunOptions

    with pytest.raises(BenchInputError, match=r"--lr-floor 1.5: expected a fraction of the lr from 0 up to"):
        RunOptions.parse(tasks="apple", lr_floor="1.5")
