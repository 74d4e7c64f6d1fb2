"""Torch layers composed into deep and bidirectional variants (the wiring is in `benchsuite.layers`)."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import nn

from ..specs import CellConfig
from . import composed_forward, layer_configs, needs_composition, stack_states


class ComposedLayers(nn.Module):
    """`num_layers` stacked layers; when bidirectional, each has a second layer reading the sequence reversed."""

    def __init__(self, build: Callable[[CellConfig], nn.Module], config: CellConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.ModuleList(build(single) for single in directions)
                                    for directions in layer_configs(config))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        output, finals = composed_forward(self.layers, x, lambda layer, inputs: layer(inputs),
                                          lambda t: t.flip(1), lambda parts: torch.cat(parts, dim=-1))
        return output, stack_states(finals, lambda parts: torch.cat(parts, dim=0))


def build_layer(build: Callable[[CellConfig], nn.Module], config: CellConfig, native_variants: bool) -> nn.Module:
    """The recurrent layer for `config`: built natively, or composed from single layers."""
    return ComposedLayers(build, config) if needs_composition(config, native_variants) else build(config)


def count_parameters(module: nn.Module) -> int:
    """Trainable scalars: a complex element holds two (its real and imaginary parts), so it counts twice."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in module.parameters() if p.requires_grad)


def sinusoidal_positions(time: int, size: int, like: torch.Tensor) -> torch.Tensor:
    """The (time, size) sinusoidal position code of Vaswani et al.: sin on even features, cos on odd ones."""
    position = torch.arange(time, dtype=like.dtype, device=like.device)[:, None]
    feature = torch.arange(size, device=like.device)
    frequency = torch.exp(-(feature // 2 * 2).to(like.dtype) * (math.log(10000.0) / size))
    angle = position * frequency
    return torch.where(feature % 2 == 0, torch.sin(angle), torch.cos(angle))
