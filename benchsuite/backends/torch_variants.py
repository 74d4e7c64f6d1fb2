"""Deep and bidirectional variants composed from single unidirectional torch layers, wired as nn.RNN wires them."""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from ..specs import CellConfig


def _concat_states(states: list[Any]) -> Any:
    """Stack per-layer-direction final states on the first axis; LSTM-style tuples element by element."""
    if isinstance(states[0], tuple):
        return tuple(torch.cat(parts, dim=0) for parts in zip(*states))
    return torch.cat(states, dim=0)


class ComposedLayers(nn.Module):
    """`num_layers` stacked layers; when bidirectional, each has a second layer reading the sequence reversed.

    Outputs of the two directions are concatenated on the feature axis and feed the next layer;
    `h_n` is ordered layer by layer, forward before reverse, as torch orders it.
    """

    def __init__(self, build: Callable[[CellConfig], nn.Module], config: CellConfig) -> None:
        super().__init__()
        directions = 2 if config.bidirectional else 1
        self.layers = nn.ModuleList()
        for layer in range(config.num_layers):
            input_size = config.input_size if layer == 0 else config.hidden_size * directions
            single = CellConfig(input_size, config.hidden_size)
            self.layers.append(nn.ModuleList(build(single) for _ in range(directions)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        finals = []
        for directions in self.layers:
            outputs = []
            for reverse, cell in enumerate(directions):
                output, final = cell(x.flip(1) if reverse else x)
                outputs.append(output.flip(1) if reverse else output)
                finals.append(final)
            x = torch.cat(outputs, dim=-1)
        return x, _concat_states(finals)


def build_layer(build: Callable[[CellConfig], nn.Module], config: CellConfig, native_variants: bool) -> nn.Module:
    """The recurrent layer for `config`: built natively, or composed from single layers."""
    if native_variants or (config.num_layers == 1 and not config.bidirectional):
        return build(config)
    return ComposedLayers(build, config)
