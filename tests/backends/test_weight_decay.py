"""Weight decay reaches only the matrices (nanoGPT's rule), in both backends, on real models."""
from __future__ import annotations

import numpy as np
import torch

from benchsuite import CellConfig, get_cell
from benchsuite.backbones import open_session
from benchsuite.backends import TrainingSettings
from benchsuite.registry.loading import get_registry
from helpers.tasks import random_task

VOCAB, HIDDEN, LR, DECAY = 4, 3, 0.01, 0.5


def test_torch_decays_the_gru_and_head_matrices_and_nothing_else() -> None:
    session = open_session(get_cell("gru"), CellConfig(VOCAB, HIDDEN), random_task(vocab=VOCAB),
                           TrainingSettings(lr=LR, weight_decay=DECAY))
    decayed, undecayed = session.optimizer.param_groups
    # A GRU layer has three gates: weight_ih (3h, v), weight_hh (3h, h), their biases (3h each); the head (v, h), (v).
    assert sum(p.numel() for p in decayed["params"]) == 3 * HIDDEN * VOCAB + 3 * HIDDEN * HIDDEN + VOCAB * HIDDEN
    assert sum(p.numel() for p in undecayed["params"]) == 3 * HIDDEN + 3 * HIDDEN + VOCAB
    assert (decayed["weight_decay"], undecayed["weight_decay"]) == (DECAY, 0.0)

    before = {name: value.detach().clone() for name, value in session.model.named_parameters()}
    for parameter in session.model.parameters():
        parameter.grad = torch.zeros_like(parameter)
    session.optimizer.step()  # zero gradients: only the decay can move a parameter
    after = dict(session.model.named_parameters())
    torch.testing.assert_close(after["head.bias"], before["head.bias"], rtol=0, atol=0)
    torch.testing.assert_close(after["layer.bias_hh_l0"], before["layer.bias_hh_l0"], rtol=0, atol=0)
    torch.testing.assert_close(after["head.weight"], before["head.weight"] * (1 - LR * DECAY))


def test_numpy_decays_the_rnn_and_head_matrices_and_nothing_else() -> None:
    session = open_session(get_registry().cell("numpy-rnn"), CellConfig(VOCAB, HIDDEN), random_task(vocab=VOCAB),
                           TrainingSettings(lr=LR, weight_decay=DECAY))
    optimizer = session.optimizer
    # An Elman layer: weight_ih (h, v), weight_hh (h, h), two biases (h each); the head (v, h), (v).
    assert sum(p.size for p in optimizer.decayed) == HIDDEN * VOCAB + HIDDEN * HIDDEN + VOCAB * HIDDEN

    params = session.model.params
    before = {name: value.copy() for name, value in params.items()}
    optimizer.step([np.zeros_like(value) for value in params.values()])
    np.testing.assert_array_equal(params["head.bias"], before["head.bias"])
    np.testing.assert_array_equal(params["layer.bias_hh_l0"], before["layer.bias_hh_l0"])
    np.testing.assert_allclose(params["head.weight"], before["head.weight"] * (1 - LR * DECAY), rtol=1e-15)
