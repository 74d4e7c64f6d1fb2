"""The Delétang task plugins: their test split sliced by every asked length, and training that draws a fresh batch
from the task's sampler each step (`--steps` per epoch), not the fixed training rows."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

import benchsuite
from benchsuite import CellConfig
from benchsuite.backbones import open_session
from benchsuite.backends import TrainingSettings
from benchsuite_plugins.tasks.chomsky_tasks import build_chomsky
from benchsuite_plugins.tasks.data.chomsky import BLANK, chomsky_task


def test_test_split_holds_per_length_tapes_of_every_asked_length():
    data = build_chomsky("cycle_navigation", train_max_length=10, test_first=11, test_last=20, test_every=4,
                         per_length=5)
    assert data.slice_name == "length"
    assert sorted(set(data.test_slices)) == [11, 15, 19]
    assert np.bincount(data.test_slices)[[11, 15, 19]].tolist() == [5, 5, 5]
    blank = data.vocab.index(BLANK)
    for row, length in zip(data.x_test, data.test_slices):
        assert row[length] == blank and (row[:length] != blank).all()  # the string, then the answer's blank
    assert data.chance == chomsky_task("cycle_navigation").chance


def test_a_session_with_steps_trains_on_fresh_batches_from_the_sampler():
    data = build_chomsky("parity_check", train_max_length=6, test_first=7, test_last=8, per_length=2)
    seen, draw = [], data.sample_batch

    def sampler(rng, batch_size):
        x, y = draw(rng, batch_size)
        seen.append(x)
        return x, y

    data = replace(data, sample_batch=sampler)
    session = open_session(benchsuite.get_cell("lstm"), CellConfig(len(data.vocab), 8), data,
                           TrainingSettings(lr=1e-3, batch_size=4, steps=3, seed=7))
    for epoch in (1, 2):
        seen.clear()
        stats = [session.train_step(batch) for batch in session.batches(epoch)]
        assert len(stats) == len(seen) == 3
        # each epoch draws from a generator seeded from (seed, epoch): the same draws, made here by hand
        rng = np.random.default_rng((7, epoch))
        for x in seen:
            assert np.array_equal(x, draw(rng, 4)[0])
        assert all(stat.counted == 4 for stat in stats)  # one answer per tape, four tapes
