"""The kit's numpy path, on a small hand-written numpy Elman layer and broken copies of it.

The suite's own numpy cells come with the numpy backend; these tests need neither.
"""
from __future__ import annotations

import numpy as np
import pytest

from benchsuite import CellConfig, CellSpec
from benchsuite.testing import numpy_checks

CONFIG = CellConfig(5, 4)
WHERE = "cell 'elman' (1 layer, unidirectional)"


class Elman:
    """One unidirectional tanh RNN layer, nn.RNN's equations and parameter names, backward by hand."""

    def __init__(self, config: CellConfig, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        size, hidden = config.input_size, config.hidden_size
        shapes = {"weight_ih_l0": (hidden, size), "weight_hh_l0": (hidden, hidden),
                  "bias_ih_l0": (hidden,), "bias_hh_l0": (hidden,)}
        self.params = {name: rng.uniform(-hidden ** -0.5, hidden ** -0.5, shape) for name, shape in shapes.items()}
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}

    def forward(self, x: np.ndarray):
        p = self.params
        h = np.zeros((x.shape[0], p["weight_hh_l0"].shape[0]))
        states = []
        for t in range(x.shape[1]):
            h = np.tanh(x[:, t] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h @ p["weight_hh_l0"].T + p["bias_hh_l0"])
            states.append(h)
        self.x, self.states = x, np.stack(states, axis=1)
        return self.states, self.states[:, -1][None]

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        p, g = self.params, self.grads
        for value in g.values():
            value[...] = 0
        d_x = np.zeros_like(self.x)
        d_next = np.zeros_like(self.states[:, 0])
        for t in reversed(range(self.x.shape[1])):
            d_pre = (d_output[:, t] + d_next) * (1 - self.states[:, t] ** 2)
            previous = self.states[:, t - 1] if t else np.zeros_like(d_next)
            g["weight_ih_l0"] += d_pre.T @ self.x[:, t]
            g["weight_hh_l0"] += d_pre.T @ previous
            g["bias_ih_l0"] += d_pre.sum(0)
            g["bias_hh_l0"] += d_pre.sum(0)
            d_x[:, t] = d_pre @ p["weight_ih_l0"]
            d_next = d_pre @ p["weight_hh_l0"]
        return d_x


class ForgetsRecurrentGradient(Elman):
    def backward(self, d_output):
        d_x = super().backward(d_output)
        self.grads["weight_hh_l0"] *= 0.5
        return d_x


class MissingGrad(Elman):
    def backward(self, d_output):
        d_x = super().backward(d_output)
        del self.grads["bias_hh_l0"]
        return d_x


class FlatInputGradient(Elman):
    def backward(self, d_output):
        return super().backward(d_output).sum(axis=1)


class OwnNames(Elman):
    def __init__(self, config):
        super().__init__(config)
        self.params = {name.replace("_l0", ""): value for name, value in self.params.items()}
        self.grads = {name.replace("_l0", ""): value for name, value in self.grads.items()}


class FloatList(Elman):
    def __init__(self, config):
        super().__init__(config)
        self.params["bias_ih_l0"] = self.params["bias_ih_l0"].tolist()


def test_numpy_checks_pass_a_correct_layer() -> None:
    numpy_checks.check_variant(CellSpec("elman", "numpy", Elman), CONFIG, WHERE)


@pytest.mark.parametrize("build, problem", [
    (ForgetsRecurrentGradient, r"gradient of params\['weight_hh_l0'\] at .* finite differences give"),
    (MissingGrad, r"grads must have the keys of params; missing \['bias_hh_l0'\]"),
    (FlatInputGradient, r"backward returned d_x of shape \(3, 5\), expected \(3, 7, 5\)"),
    (OwnNames, r"no parameter is named for '_l0'"),
    (FloatList, r"params\['bias_ih_l0'\] must be a float numpy array, got list"),
])
def test_numpy_checks_name_the_problem(build, problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        numpy_checks.check_variant(CellSpec("elman", "numpy", build), CONFIG, WHERE)
