"""NumPy layers composed into deep and bidirectional variants (the wiring is in `benchsuite.layers`), with nn.RNN's
parameter names for the whole stack and backpropagation through the composition."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..specs import CellConfig
from . import composed_forward, layer_configs, needs_composition, stack_states

DIRECTION_SUFFIXES = ("", "_reverse")
SINGLE_LAYER_SUFFIX = "_l0"


def _reversed_in_time(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x[:, ::-1])


def _public_name(name: str, layer: int, suffix: str) -> str:
    """`weight_ih_l0` of a single layer becomes `weight_ih_l1_reverse` when it is layer 1's reverse pass."""
    if not name.endswith(SINGLE_LAYER_SUFFIX):
        raise ValueError(f"parameter {name!r} of a numpy cell should end in {SINGLE_LAYER_SUFFIX!r}, "
                         "as nn.RNN names it")
    return f"{name[:-len(SINGLE_LAYER_SUFFIX)]}_l{layer}{suffix}"


class ComposedLayers:
    """`num_layers` stacked numpy layers; when bidirectional, each has a second layer reading the sequence reversed.

    `params`/`grads` carry nn.RNN's names for the whole stack (`weight_hh_l1_reverse`, ...), read live from the
    single layers.
    """

    def __init__(self, build: Callable[[CellConfig], Any], config: CellConfig) -> None:
        self.layers = [[build(single) for single in directions] for directions in layer_configs(config)]

    def _named(self, attribute: str) -> dict[str, np.ndarray]:
        return {_public_name(name, layer, suffix): value
                for layer, cells in enumerate(self.layers)
                for suffix, cell in zip(DIRECTION_SUFFIXES, cells)
                for name, value in getattr(cell, attribute).items()}

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self._named("params")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self._named("grads")

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        output, finals = composed_forward(self.layers, x, lambda layer, inputs: layer.forward(inputs),
                                          _reversed_in_time, lambda parts: np.concatenate(parts, axis=-1))
        return output, stack_states(finals, lambda parts: np.concatenate(parts, axis=0))

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        for cells in reversed(self.layers):
            d_parts = np.split(d_output, len(cells), axis=-1)
            d_output = sum(_reversed_in_time(cell.backward(_reversed_in_time(d))) if reverse else cell.backward(d)
                           for reverse, (cell, d) in enumerate(zip(cells, d_parts)))
        return d_output


def build_layer(build: Callable[[CellConfig], Any], config: CellConfig, native_variants: bool) -> Any:
    """The numpy layer for `config`: built natively, or composed from single layers."""
    return ComposedLayers(build, config) if needs_composition(config, native_variants) else build(config)
