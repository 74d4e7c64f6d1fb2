"""The torch backend against independent computations: ignored targets, accuracy, composition."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from benchsuite import CellConfig, TaskData, get_cell
from benchsuite.backbones import open_session
from benchsuite.backends import TrainingSettings


def _data_with_ignored_targets() -> TaskData:
    x = np.array([[0, 1, 2, 3], [3, 2, 1, 0]])
    y = np.array([[1, -1, 3, 0], [-1, -1, 0, 2]])
    return TaskData(["a", "b", "c", "d"], x, y)


def test_loss_and_accuracy_ignore_negative_targets() -> None:
    data = _data_with_ignored_targets()
    session = open_session(get_cell("gru"), CellConfig(4, 3), data, TrainingSettings(lr=0.01, seed=0))
    stats = session.evaluate("train")
    with torch.no_grad():
        logits = session.model(torch.nn.functional.one_hot(torch.tensor(data.x_train), 4).float()).numpy()
    keep = data.y_train >= 0
    picked = logits[keep]
    log_probs = picked - np.log(np.exp(picked).sum(-1, keepdims=True))
    expected_loss = -log_probs[np.arange(keep.sum()), data.y_train[keep]].mean()
    expected_accuracy = (picked.argmax(-1) == data.y_train[keep]).mean()
    assert stats.loss == pytest.approx(expected_loss, rel=1e-5)
    assert stats.accuracy == pytest.approx(expected_accuracy)
    step = session.train_step(next(iter(session.batches(1))))
    assert step.counted == 5 and step.loss == pytest.approx(expected_loss, rel=1e-5)


def test_same_seed_same_initial_weights_and_losses() -> None:
    data = _data_with_ignored_targets()

    def losses(seed: int) -> list[float]:
        session = open_session(get_cell("lstm"), CellConfig(4, 5, 2), data, TrainingSettings(lr=0.05, seed=seed))
        return [session.train_step(batch).loss for epoch in range(1, 6) for batch in session.batches(epoch)]

    assert losses(3) == losses(3)
    assert losses(3) != losses(4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_session_trains_and_matches_cpu_initial_loss() -> None:
    data = _data_with_ignored_targets()
    cpu = open_session(get_cell("rnn"), CellConfig(4, 3), data, TrainingSettings(lr=0.01, seed=1))
    gpu = open_session(get_cell("rnn"), CellConfig(4, 3), data, TrainingSettings(lr=0.01, device="cuda", seed=1))
    assert gpu.evaluate("train").loss == pytest.approx(cpu.evaluate("train").loss, rel=1e-4)
    first = gpu.train_step(next(iter(gpu.batches(1)))).loss
    for epoch in range(2, 30):
        for batch in gpu.batches(epoch):
            gpu.train_step(batch)
    gpu.synchronize()
    assert gpu.evaluate("train").loss < first


def test_model_is_back_in_training_mode_after_evaluate_and_infer() -> None:
    data = _data_with_ignored_targets()
    session = open_session(get_cell("rnn"), CellConfig(4, 3), data, TrainingSettings(lr=0.01, seed=0))
    session.evaluate("train")
    session.infer(next(iter(session.batches(1))))
    assert all(module.training for module in session.model.modules())
