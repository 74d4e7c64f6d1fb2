"""The `stack` backbone in NumPy: one-hot characters -> the cell's layers -> a linear head at every step.

Initialisation is the backbone's job, as it is a torch module's: a numpy cell may create its `params` with any
values (zeros will do) and never needs a random generator. `build` fills every array of the cell's `params` in
place, in the order of that dict, from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (torch's rule for RNN, LSTM
and GRU), then the head's weight and bias from U(-1/sqrt(features), 1/sqrt(features)) (nn.Linear's rule), all
drawn from `np.random.default_rng(seed)`.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from ..layers import Workspace
from ..layers.numpy_layers import build_layer
from ..specs import CellConfig, CellSpec

LAYER_PREFIX, HEAD_PREFIX = "layer.", "head."  # the names the torch StackModel's state dict uses


class LinearHead:
    """nn.Linear from features to vocabulary logits, with positions as columns: logits are (vocab, positions)."""

    def __init__(self, features: int, vocab_size: int) -> None:
        self.params = {"weight": np.zeros((vocab_size, features)), "bias": np.zeros(vocab_size)}
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self._inputs = np.zeros((0, features))
        self._workspace = Workspace()

    def forward(self, inputs: np.ndarray) -> np.ndarray:
        """Logits (vocab, positions) for `inputs` (positions, features), reused by the next call."""
        self._inputs = inputs
        weight = self.params["weight"]
        logits = np.matmul(weight, inputs.T, out=self._workspace.array("logits", (len(weight), len(inputs))))
        logits += self.params["bias"][:, None]
        return logits

    def backward(self, d_logits: np.ndarray) -> np.ndarray:
        """Fills `grads` and returns d_inputs (positions, features), reused by the next call."""
        np.matmul(d_logits, self._inputs, out=self.grads["weight"])
        np.sum(d_logits, axis=1, out=self.grads["bias"])
        d_inputs = self._workspace.array("d_inputs", self._inputs.shape)
        return np.matmul(d_logits.T, self.params["weight"], out=d_inputs)


class NumpyStack:
    """The layer and head of a numpy char model; it also scores the next character (`benchsuite.backends.Predictor`).

    Positions are flattened time-major (step by step), the order in which a recurrent cell produces them, so the
    head reads a time-major cell's output without copying it.
    """

    def __init__(self, layer: Any, features: int, vocab_size: int) -> None:
        self.layer, self.features, self.vocab_size = layer, features, vocab_size
        self.head = LinearHead(features, vocab_size)
        self._output_shape: tuple[int, ...] = (0, 0, features)  # (samples, steps, features) of the last forward

    def _named(self, attribute: str) -> dict[str, np.ndarray]:
        return {prefix + name: value for prefix, part in ((LAYER_PREFIX, self.layer), (HEAD_PREFIX, self.head))
                for name, value in getattr(part, attribute).items()}

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Every trained array, named as the torch model's state dict names it."""
        return self._named("params")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """The gradients of `params`, by the same names; read again after each backward (a cell may rebind them)."""
        return self._named("grads")

    def encode(self, codes: np.ndarray) -> np.ndarray:
        """One-hot inputs for integer codes (batch, time): built time-major, handed over as the batch-first view
        (batch, time, vocab) the cell contract asks for."""
        return np.eye(self.vocab_size)[codes.T].transpose(1, 0, 2)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits (vocab, positions), positions time-major, for one-hot `x` (batch, time, vocab)."""
        output, _ = self.layer.forward(x)
        self._output_shape = output.shape
        # Time-major rows, as the backend orders targets; a view for cells that are time-major inside.
        return self.head.forward(output.transpose(1, 0, 2).reshape(-1, self.features))

    def backward(self, d_logits: np.ndarray) -> None:
        """Fills `grads` from d_logits (vocab, positions) of the last forward."""
        samples, steps, features = self._output_shape
        d_features = self.head.backward(d_logits).reshape(steps, samples, features)
        self.layer.backward(d_features.transpose(1, 0, 2))

    def cell_states(self, x: np.ndarray) -> list[Any]:
        """The layer's final state after reading `x`: one cell, however many layers it was composed of."""
        return [self.layer.forward(x)[1]]

    def mixer_parameter_count(self) -> int:
        """The cell's own parameters: all but the head's."""
        return sum(value.size for value in self.layer.params.values())

    def logits(self, codes: Any) -> np.ndarray:
        codes = np.asarray(codes)
        samples, steps = codes.shape
        logits = self.forward(self.encode(codes))
        return logits.reshape(self.vocab_size, steps, samples).transpose(2, 1, 0).copy()


def _uniform_fill(arrays: Iterable[np.ndarray], bound: float, rng: np.random.Generator) -> None:
    for array in arrays:
        array[...] = rng.uniform(-bound, bound, array.shape)


def build(cell: CellSpec, config: CellConfig, vocab_size: int, seed: int) -> NumpyStack:
    """The cell's layer (composed into the variant where needed) under a linear head, initialised from `seed`."""
    model = NumpyStack(build_layer(cell.build, config, cell.native_variants), config.output_size, vocab_size)
    rng = np.random.default_rng(seed)
    _uniform_fill(model.layer.params.values(), 1 / math.sqrt(config.hidden_size), rng)
    _uniform_fill(model.head.params.values(), 1 / math.sqrt(config.output_size), rng)
    return model
