"""`numpy-rnn` against torch's nn.RNN with the same weights, and against finite differences."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from benchsuite import CellConfig
from benchsuite_plugins.cells.layers.numpy_rnn import NumpyRNN

BATCH, STEPS, INPUT, HIDDEN = 3, 7, 4, 5


def numpy_twin(rnn: torch.nn.RNN, config: CellConfig) -> NumpyRNN:
    """A NumpyRNN holding a copy of `rnn`'s weights, which must carry exactly nn.RNN's names and shapes."""
    cell = NumpyRNN(config)
    state = rnn.state_dict()
    assert {name: value.shape for name, value in cell.params.items()} == \
        {name: tuple(value.shape) for name, value in state.items()}
    for name, value in state.items():
        cell.params[name][...] = value.numpy()
    return cell


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_matches_torch_rnn_forward_and_backward(num_layers: int, bidirectional: bool) -> None:
    torch.manual_seed(num_layers + 2 * bidirectional)
    config = CellConfig(INPUT, HIDDEN, num_layers, bidirectional)
    rnn = torch.nn.RNN(INPUT, HIDDEN, num_layers=num_layers, bidirectional=bidirectional, batch_first=True).double()
    cell = numpy_twin(rnn, config)
    x = torch.randn(BATCH, STEPS, INPUT, dtype=torch.float64, requires_grad=True)
    output, h_n = rnn(x)
    d_output = torch.randn_like(output)
    output.backward(d_output)

    numpy_output, numpy_h_n = cell.forward(x.detach().numpy())
    d_x = cell.backward(d_output.numpy())

    np.testing.assert_allclose(numpy_output, output.detach().numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(numpy_h_n, h_n.detach().numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(d_x, x.grad.numpy(), rtol=0, atol=1e-9)
    for name, param in rnn.named_parameters():
        np.testing.assert_allclose(cell.grads[name], param.grad.numpy(), rtol=0, atol=1e-9, err_msg=name)


def test_gradients_match_finite_differences() -> None:
    """d(sum(output * r))/d(every weight and input), by central differences, with no torch involved."""
    rng = np.random.default_rng(7)
    cell = NumpyRNN(CellConfig(3, 4, num_layers=2, bidirectional=True))
    for value in cell.params.values():
        value[...] = rng.uniform(-0.8, 0.8, value.shape)
    x = rng.normal(size=(2, 5, 3))
    r = rng.normal(size=(2, 5, 8))

    def objective() -> float:
        return float((cell.forward(x)[0] * r).sum())

    objective()
    d_x = cell.backward(r)
    analytic = {name: grad.copy() for name, grad in cell.grads.items()}
    analytic["x"] = d_x
    arrays = {**cell.params, "x": x}
    step = 1e-6
    for name, array in arrays.items():
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            kept = array[index]
            array[index] = kept + step
            above = objective()
            array[index] = kept - step
            below = objective()
            array[index] = kept
            numeric[index] = (above - below) / (2 * step)
        np.testing.assert_allclose(analytic[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_final_states_are_the_outputs_at_each_direction_end() -> None:
    """h_n holds the forward pass's last step and the reverse pass's first step, as nn.RNN orders them."""
    rng = np.random.default_rng(3)
    cell = NumpyRNN(CellConfig(INPUT, HIDDEN, num_layers=1, bidirectional=True))
    for value in cell.params.values():
        value[...] = rng.uniform(-0.5, 0.5, value.shape)
    output, h_n = cell.forward(rng.normal(size=(BATCH, STEPS, INPUT)))
    assert output.shape == (BATCH, STEPS, 2 * HIDDEN) and h_n.shape == (2, BATCH, HIDDEN)
    np.testing.assert_array_equal(h_n[0], output[:, -1, :HIDDEN])
    np.testing.assert_array_equal(h_n[1], output[:, 0, HIDDEN:])
