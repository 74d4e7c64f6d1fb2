"""Backbones by name: the `stack` model for each backend, rebuilt from a session's state; unknown names refused."""
from __future__ import annotations

import numpy as np
import pytest

from benchsuite import CellConfig
from benchsuite.backbones import BACKBONES, build_model, open_session, restore
from benchsuite.backends import TrainingSettings
from benchsuite.errors import BenchInputError
from benchsuite.registry.loading import get_registry
from helpers.tasks import random_task


@pytest.mark.parametrize("cell", ["gru", "numpy-rnn"])
def test_a_restored_stack_predicts_as_the_trained_session(cell: str) -> None:
    spec = get_registry().cell(cell)
    data = random_task(vocab=5)
    config = CellConfig(5, 4, num_layers=2, bidirectional=True)
    session = open_session(spec, config, data, TrainingSettings(lr=0.05, seed=1))
    for batch in session.batches(1):
        session.train_step(batch)
    rebuilt = restore(spec, config, 5, session.state())
    np.testing.assert_array_equal(rebuilt.logits(data.x_train), session.logits(data.x_train))
    # A deep bidirectional stack keeps h_n of every layer and direction: 2 layers x 2 directions x 4 units.
    assert session.state_size() == 2 * 2 * 4


def test_an_unknown_backbone_is_bad_input_naming_the_known_ones() -> None:
    known = ", ".join(sorted(BACKBONES))
    with pytest.raises(BenchInputError, match=f"unknown backbone 'tower'; known backbones: {known}"):
        build_model(get_registry().cell("gru"), CellConfig(5, 4), 5, seed=0, backbone="tower")
