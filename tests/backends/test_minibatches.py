"""Mini-batches in the core and the torch backend: order, sizes, one-hot per batch, evaluation in pieces."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchsuite import TaskData, get_cell
from benchsuite.backbones import open_session
from benchsuite.backends import TrainingSettings
from benchsuite.backends.batching import chunks, shuffled_batches
from benchsuite.measurement.train import train
from benchsuite.specs import CellConfig
from helpers.tasks import random_task

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is fastest, and steadiest


def test_shuffled_batches_cover_every_row_once_in_an_order_set_by_seed_and_epoch():
    batches = list(shuffled_batches(10, 4, seed=3, epoch=1))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))
    again = np.concatenate(list(shuffled_batches(10, 4, seed=3, epoch=1)))
    assert np.array_equal(np.concatenate(batches), again)
    other_epoch = np.concatenate(list(shuffled_batches(10, 4, seed=3, epoch=2)))
    other_seed = np.concatenate(list(shuffled_batches(10, 4, seed=4, epoch=1)))
    assert not np.array_equal(again, other_epoch) and not np.array_equal(again, other_seed)


def test_chunks_are_consecutive_and_cover_the_split():
    assert list(chunks(7, 3)) == [slice(0, 3), slice(3, 6), slice(6, 7)]


# 37 rows (three batches of 10 and one of 7), 30% of targets ignored, a held-out split of 23 rows.
TASK = {"samples": 37, "vocab": 5, "ignored": 0.3, "valid": 23}


def session(data, batch_size, seed=0):
    config = CellConfig(len(data.vocab), 8)
    return open_session(get_cell("gru"), config, data, TrainingSettings(lr=0.01, seed=seed, batch_size=batch_size))


def test_mini_batches_are_one_hot_per_batch_and_count_only_kept_targets():
    data = random_task(**TASK)
    batches = list(session(data, 10).batches(epoch=1))
    assert [tuple(b.x.shape) for b in batches] == [(10, 6, 5)] * 3 + [(7, 6, 5)]
    assert sum(b.counted for b in batches) == int((data.y_train >= 0).sum())
    for batch in batches:
        assert torch.equal(batch.x.sum(-1), torch.ones(batch.x.shape[:2]))
        assert batch.counted == int((batch.y >= 0).sum())


def test_full_batch_is_one_step_per_epoch():
    data = random_task(**TASK)
    result = train(session(data, None), epochs=3)
    assert len(result.step_seconds) == 3
    result = train(session(data, 10), epochs=3)
    assert len(result.step_seconds) == 12


def test_mini_batch_training_is_repeatable_and_learns():
    rng = np.random.default_rng(1)
    x = rng.integers(4, size=(64, 5))
    data = TaskData(list("abcd"), x, x.copy())  # echo the input: learnable
    first, second = session(data, 16), session(data, 16)
    a, b = train(first, 40), train(second, 40)
    assert [r.loss for r in a.curve] == [r.loss for r in b.curve]
    assert first.evaluate("train").accuracy > 0.95


def manual_stats(model, x, y, vocab):
    """Loss and accuracy over a whole split in one forward pass, computed here without the backend's batching."""
    with torch.no_grad():
        logits = model(F.one_hot(torch.as_tensor(x), vocab).float())
    y = torch.as_tensor(y)
    kept = y >= 0
    loss = F.cross_entropy(logits[kept], y[kept]).item()
    accuracy = int((logits.argmax(-1)[kept] == y[kept]).sum()) / int(kept.sum())
    return loss, accuracy


@pytest.mark.parametrize("batch_size", [None, 1, 5, 23, 100])
def test_evaluation_in_pieces_equals_one_pass_over_the_split(batch_size):
    data = random_task(**TASK)
    run = session(data, batch_size)
    train(run, 2)
    for split, (x, y) in {"train": (data.x_train, data.y_train), "valid": (data.x_valid, data.y_valid)}.items():
        stats = run.evaluate(split)
        loss, accuracy = manual_stats(run.model, x, y, len(data.vocab))
        assert stats.loss == pytest.approx(loss, rel=1e-5)
        assert stats.accuracy == pytest.approx(accuracy, abs=1e-9)


def test_a_batch_with_nothing_to_predict_is_a_zero_loss_not_nan():
    x = np.zeros((4, 3), dtype=np.int64)
    y = np.full((4, 3), -1)
    y[0, 0] = 1
    run = session(TaskData(["a", "b"], x, y), 1)
    stats = [run.train_step(batch) for batch in run.batches(1)]
    assert all(math.isfinite(s.loss) for s in stats)
    assert sorted(s.counted for s in stats) == [0, 0, 0, 1]


def test_splits_stay_compact_codes_on_the_device():
    codes = np.random.default_rng(0).integers(200, size=(500, 40)).astype(np.uint8)
    data = TaskData([chr(i) for i in range(200)], codes, codes.copy())
    run = session(data, 8)
    split = run.splits["train"]
    assert split.x.dtype == torch.uint8 and split.x.numel() == codes.size
    train(run, 1)
    run.evaluate("train")
    assert "whole" not in vars(split)  # the one-hot of the whole split was never built


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_mini_batches_match_cpu():
    data = random_task(**TASK)
    cpu, cuda = session(data, 10), open_session(get_cell("gru"), CellConfig(5, 8), data,
                                                    TrainingSettings(lr=0.01, device="cuda", batch_size=10))
    cuda.model.load_state_dict(cpu.model.state_dict())
    a, b = train(cpu, 3), train(cuda, 3)
    assert [r.loss for r in a.curve] == pytest.approx([r.loss for r in b.curve], rel=1e-3)
    assert cuda.evaluate("valid").loss == pytest.approx(cpu.evaluate("valid").loss, rel=1e-3)
