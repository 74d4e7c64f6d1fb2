"""The `stack` backbone in torch: one-hot characters -> the cell's layers -> a linear head at every step."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..layers.torch_layers import build_layer, count_parameters
from ..specs import CellConfig, CellSpec


class StackModel(nn.Module):
    """A recurrent layer (or composed stack of them) followed by a linear head over the vocabulary at every step."""

    def __init__(self, layer: nn.Module, features: int, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.layer = layer
        self.head = nn.Linear(features, vocab_size)

    def encode(self, codes: torch.Tensor) -> torch.Tensor:
        """One-hot float inputs (batch, time, vocab) for integer codes (batch, time)."""
        return F.one_hot(codes.long(), self.vocab_size).float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, _ = self.layer(x)
        return self.head(output)

    def cell_states(self, x: torch.Tensor) -> list[Any]:
        """The layer's final state after reading `x`: one cell, however many layers it was composed of."""
        return [self.layer(x)[1]]

    def mixer_parameter_count(self) -> int:
        """The cell's own parameters: all but the head's."""
        return count_parameters(self.layer)


def build(cell: CellSpec, config: CellConfig, vocab_size: int, seed: int) -> StackModel:
    """The cell's layer (composed into the variant where needed) under a linear head, initialised from `seed`."""
    torch.manual_seed(seed)
    return StackModel(build_layer(cell.build, config, cell.native_variants), config.output_size, vocab_size)
