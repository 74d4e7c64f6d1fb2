"""Deep and bidirectional variants composed from single unidirectional numpy layers, wired as nn.RNN wires them."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..specs import CellConfig

DIRECTION_SUFFIXES = ("", "_reverse")
SINGLE_LAYER_SUFFIX = "_l0"


def _reversed_in_time(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x[:, ::-1])


def _stack_states(states: list[Any]) -> Any:
    """Final states of every layer and direction on the first axis; LSTM-style tuples part by part."""
    if isinstance(states[0], tuple):
        return tuple(np.concatenate(parts, axis=0) for parts in zip(*states))
    return np.concatenate(states, axis=0)


def _public_name(name: str, layer: int, suffix: str) -> str:
    """`weight_ih_l0` of a single layer becomes `weight_ih_l1_reverse` when it is layer 1's reverse pass."""
    if not name.endswith(SINGLE_LAYER_SUFFIX):
        raise ValueError(f"parameter {name!r} of a numpy cell should end in {SINGLE_LAYER_SUFFIX!r}, as nn.RNN names it")
    return f"{name[:-len(SINGLE_LAYER_SUFFIX)]}_l{layer}{suffix}"


class ComposedLayers:
    """`num_layers` stacked numpy layers; when bidirectional, each has a second layer reading the sequence reversed.

    Outputs of the two directions are concatenated on the feature axis and feed the next layer;
    h_n is ordered layer by layer, forward before reverse, and `params`/`grads` carry nn.RNN's
    names for the whole stack (`weight_hh_l1_reverse`, ...), read live from the single layers.
    """

    def __init__(self, build: Callable[[CellConfig], Any], config: CellConfig) -> None:
        directions = 2 if config.bidirectional else 1
        self.layers = []
        for layer in range(config.num_layers):
            input_size = config.input_size if layer == 0 else config.hidden_size * directions
            self.layers.append([build(CellConfig(input_size, config.hidden_size)) for _ in range(directions)])

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
        finals = []
        for cells in self.layers:
            outputs = []
            for reverse, cell in enumerate(cells):
                output, final = cell.forward(_reversed_in_time(x) if reverse else x)
                outputs.append(_reversed_in_time(output) if reverse else output)
                finals.append(final)
            x = outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=-1)
        return x, _stack_states(finals)

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        for cells in reversed(self.layers):
            d_parts = np.split(d_output, len(cells), axis=-1)
            d_output = sum(_reversed_in_time(cell.backward(_reversed_in_time(d))) if reverse else cell.backward(d)
                           for reverse, (cell, d) in enumerate(zip(cells, d_parts)))
        return d_output


def build_layer(build: Callable[[CellConfig], Any], config: CellConfig, native_variants: bool) -> Any:
    """The numpy layer for `config`: built natively, or composed from single layers."""
    if native_variants or (config.num_layers == 1 and not config.bidirectional):
        return build(config)
    return ComposedLayers(build, config)
