"""The numpy backend's parts against torch's: Adam, cross-entropy, initialisation, batching, composed variants."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchsuite import CellConfig, CellSpec
from benchsuite.backbones import open_session
from benchsuite.backends import BACKEND_DEVICES, TrainingSettings
from benchsuite.backends.numpy_backend import Adam, Batch, score
from benchsuite.errors import BenchInputError
from benchsuite.layers.numpy_layers import ComposedLayers
from benchsuite.measurement.train import train
from benchsuite.planning.grid import plan_task
from benchsuite.planning.options import RunOptions
from benchsuite_plugins.cells.numpy_rnn import build_numpy_rnn
from helpers.tasks import random_task

NATIVE = CellSpec("native", "numpy", build_numpy_rnn, native_variants=True)
COMPOSED = CellSpec("composed", "numpy", build_numpy_rnn, native_variants=False)
INPUT_SIZE = 3


def test_adam_matches_torch_adam() -> None:
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    params = [rng.normal(size=shape) for shape in shapes]
    torch_params = [torch.tensor(p, requires_grad=True) for p in params]
    ours = Adam(params, lr=0.05)
    theirs = torch.optim.Adam(torch_params, lr=0.05)
    for _ in range(25):
        # Some gradients exactly zero, as for one-hot columns of unused symbols.
        grads = [rng.normal(size=shape) * (rng.random(shape) < 0.7) for shape in shapes]
        ours.step(grads)
        for param, grad in zip(torch_params, grads):
            param.grad = torch.tensor(grad)
        theirs.step()
    for param, torch_param in zip(params, torch_params):
        np.testing.assert_allclose(param, torch_param.detach().numpy(), rtol=0, atol=1e-13)


def test_score_matches_torch_cross_entropy_and_argmax() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 6, (5, 4))
    y = np.where(rng.random((5, 4)) < 0.3, -1, rng.integers(0, 6, (5, 4)))
    batch = Batch(x, y)  # a model would read x encoded; scoring needs only the targets
    logits = rng.normal(size=(6, y.size)) * 3  # (vocab, positions), positions time-major as Batch orders them
    loss, row_correct, probabilities = score(logits.copy(), batch)  # score overwrites what it is given
    d_logits = probabilities.copy()
    d_logits[batch.targets, batch.positions] -= 1.0
    d_logits *= batch.weights

    torch_logits = torch.tensor(logits.T, requires_grad=True)
    targets = torch.tensor(y.T.reshape(-1))
    torch_loss = F.cross_entropy(torch_logits, targets, ignore_index=-1)
    torch_loss.backward()
    assert loss == pytest.approx(torch_loss.item(), abs=1e-12)
    np.testing.assert_allclose(d_logits.T, torch_logits.grad.numpy(), rtol=0, atol=1e-12)
    right = (torch_logits.argmax(1) == targets).numpy().reshape(4, 5)  # time-major: (steps, rows)
    assert row_correct.tolist() == right.sum(axis=0).tolist()
    assert batch.counted == int((y >= 0).sum())


def test_initialisation_follows_torch_rule_and_the_seed() -> None:
    data = random_task(vocab=7)
    config = CellConfig(7, 16, num_layers=2, bidirectional=True)
    session = open_session(NATIVE, config, data, TrainingSettings(lr=0.01, seed=3))
    cell_bound, head_bound = 1 / math.sqrt(16), 1 / math.sqrt(32)
    cell_values = np.concatenate([v.ravel() for n, v in session.model.params.items() if n.startswith("layer.")])
    head_values = np.concatenate([session.model.params["head.weight"].ravel(), session.model.params["head.bias"]])
    for values, bound in ((cell_values, cell_bound), (head_values, head_bound)):
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.95 * bound  # spread over the whole interval, not squeezed
        assert abs(values.mean()) < 0.1 * bound
    again = open_session(NATIVE, config, data, TrainingSettings(lr=0.01, seed=3))
    other = open_session(NATIVE, config, data, TrainingSettings(lr=0.01, seed=4))
    for name, value in session.model.params.items():
        np.testing.assert_array_equal(value, again.model.params[name])
        assert not np.array_equal(value, other.model.params[name])


def test_mini_batches_train_and_evaluate_like_the_full_batch() -> None:
    data = random_task(samples=30, seed=2)
    config = CellConfig(4, 8)
    whole = open_session(NATIVE, config, data, TrainingSettings(lr=0.05, seed=0))
    mini = open_session(NATIVE, config, data, TrainingSettings(lr=0.05, seed=0, batch_size=7))
    assert [b.x.shape[0] for b in mini.batches(1)] == [7, 7, 7, 7, 2]
    # Same weights: evaluating in chunks of 7 gives the whole split's loss and accuracy.
    assert mini.evaluate("train").loss == pytest.approx(whole.evaluate("train").loss, abs=1e-12)
    assert mini.evaluate("train").accuracy == whole.evaluate("train").accuracy
    before = mini.evaluate("train").loss
    result = train(mini, 40)
    assert len(result.step_seconds) == 40 * 5
    assert mini.evaluate("train").loss < 0.8 * before


def test_infer_reads_every_input_character_and_changes_nothing() -> None:
    data = random_task(samples=9, steps=5)
    session = open_session(NATIVE, CellConfig(4, 6), data, TrainingSettings(lr=0.05, seed=0))
    before = {name: value.copy() for name, value in session.model.params.items()}
    loss = session.evaluate("train").loss
    assert [session.infer(batch) for batch in session.batches(1)] == [9 * 5]
    assert all(np.array_equal(value, before[name]) for name, value in session.model.params.items())
    assert session.evaluate("train").loss == loss


@pytest.mark.parametrize("num_layers, bidirectional", [(1, True), (2, False), (2, True)])
def test_composed_variants_match_native_ones(num_layers: int, bidirectional: bool) -> None:
    config = CellConfig(INPUT_SIZE, 4, num_layers, bidirectional)
    native, composed = build_numpy_rnn(config), ComposedLayers(build_numpy_rnn, config)
    assert {n: v.shape for n, v in composed.params.items()} == {n: v.shape for n, v in native.params.items()}
    rng = np.random.default_rng(num_layers)
    for name, value in native.params.items():
        value[...] = rng.uniform(-0.7, 0.7, value.shape)
        composed.params[name][...] = value
    x = rng.normal(size=(2, 5, INPUT_SIZE))
    (output, h_n), (composed_output, composed_h_n) = native.forward(x), composed.forward(x)
    d_output = rng.normal(size=output.shape)
    np.testing.assert_allclose(composed_output, output, rtol=0, atol=1e-12)
    np.testing.assert_allclose(composed_h_n, h_n, rtol=0, atol=1e-12)
    np.testing.assert_allclose(composed.backward(d_output), native.backward(d_output), rtol=0, atol=1e-12)
    for name, grad in native.grads.items():
        np.testing.assert_allclose(composed.grads[name], grad, rtol=0, atol=1e-12, err_msg=name)


def test_composed_session_trains_exactly_as_the_native_one() -> None:
    """Both draw the same initial weights (same names, same order), so their loss curves coincide."""
    data = random_task()
    config = CellConfig(4, 6, num_layers=2, bidirectional=True)
    native = open_session(NATIVE, config, data, TrainingSettings(lr=0.05, seed=5))
    composed = open_session(COMPOSED, config, data, TrainingSettings(lr=0.05, seed=5))
    assert isinstance(composed.model.layer, ComposedLayers) and native.param_count == composed.param_count
    native_curve = [record.loss for record in train(native, 30).curve]
    composed_curve = [record.loss for record in train(composed, 30).curve]
    np.testing.assert_allclose(composed_curve, native_curve, rtol=0, atol=1e-10)
    assert native_curve[-1] < 0.8 * native_curve[0]


def test_numpy_rows_are_skipped_on_cuda_with_the_reason() -> None:
    assert BACKEND_DEVICES["numpy"] == ("cpu",)
    jobs = plan_task(RunOptions.parse(tasks="apple"), "apple", True, {}, [NATIVE], "cuda")
    assert [job.skip_reason for job in jobs] == ["backend 'numpy' runs on cpu only, not cuda"]
    with pytest.raises(BenchInputError, match="cpu only"):
        open_session(NATIVE, CellConfig(4, 3), random_task(), TrainingSettings(lr=0.1, device="cuda", seed=0))


class PairStateRNN:
    """A single numpy-rnn layer whose final state is a pair, as an LSTM's (h_n, c_n) is."""

    def __init__(self, config: CellConfig) -> None:
        self.inner = build_numpy_rnn(config)
        self.params, self.grads = self.inner.params, self.inner.grads

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        output, h_n = self.inner.forward(x)
        return output, (h_n, -h_n)

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        return self.inner.backward(d_output)


def test_composed_variants_stack_paired_final_states_part_by_part() -> None:
    config = CellConfig(INPUT_SIZE, 4, num_layers=2, bidirectional=True)
    native, composed = build_numpy_rnn(config), ComposedLayers(PairStateRNN, config)
    rng = np.random.default_rng(9)
    for name, value in native.params.items():
        value[...] = composed.params[name][...] = rng.uniform(-0.7, 0.7, value.shape)
    x = rng.normal(size=(2, 5, INPUT_SIZE))
    _, h_n = native.forward(x)
    _, (first, second) = composed.forward(x)
    np.testing.assert_allclose(first, h_n, rtol=0, atol=1e-12)
    np.testing.assert_allclose(second, -h_n, rtol=0, atol=1e-12)


def test_composing_a_cell_without_torch_parameter_names_names_the_parameter() -> None:
    class Unnamed(PairStateRNN):
        def __init__(self, config: CellConfig) -> None:
            super().__init__(config)
            self.params = {"w": self.inner.params["weight_ih_l0"]}

    with pytest.raises(ValueError, match="parameter 'w'"):
        _ = ComposedLayers(Unnamed, CellConfig(INPUT_SIZE, 4, num_layers=2)).params  # reading them raises
