"""The `block` backbone in torch: the model the field wraps around a sequence mixer (see recipes.py).

    x = Embedding(codes) [+ positions, for a cell that needs them]      (embedding dropout)
    for each of num_layers blocks:  x = x + Mixer(Norm(x));  unless mlp=none: x = x + MLP(Norm(x))
    logits = Head(Norm(x))                                               (tied to the embedding or not)

Inputs stay integer codes end to end (no one-hot of the vocabulary's width), and the head may be applied only at
the positions a task scores, so memory grows with batch x time x d, not with the vocabulary. Each mixer is the
cell's one-layer unidirectional layer built with width d (`CellConfig(d, d, mixer=True)`); a bidirectional
variant builds both directions and projects their joined outputs back to d before the residual. A cell whose
role is "block" is stacked bare, as a whole block.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..layers.torch_layers import build_layer, count_parameters, sinusoidal_positions
from ..specs import CellConfig, CellSpec
from .recipes import BlockRecipe

INIT_STD = 0.02  # Zoology's and nanoGPT's N(0, 0.02)
RESIDUAL_OUTPUT = "out_proj"  # a mixer's submodule of this name ends its residual branch


def norm_layer(recipe: BlockRecipe, width: int) -> nn.Module:
    if recipe.norm == "layernorm":
        return nn.LayerNorm(width, bias=recipe.bias)
    return nn.RMSNorm(width, eps=1e-5)


class SwiGLU(nn.Module):
    """MAD's channel mixer: out_proj(silu(gate(x)) * up(x)), no biases."""

    def __init__(self, width: int, inner: int) -> None:
        super().__init__()
        self.gate = nn.Linear(width, inner, bias=False)
        self.up = nn.Linear(width, inner, bias=False)
        self.out_proj = nn.Linear(inner, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_proj(F.silu(self.gate(x)) * self.up(x))


class GeluMLP(nn.Module):
    """The Transformer's channel MLP: out_proj(gelu(up(x)))."""

    def __init__(self, width: int, inner: int, bias: bool) -> None:
        super().__init__()
        self.up = nn.Linear(width, inner, bias=bias)
        self.out_proj = nn.Linear(inner, width, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_proj(F.gelu(self.up(x)))


def channel_mlp(recipe: BlockRecipe, width: int) -> nn.Module | None:
    if recipe.mlp == "none":
        return None
    if recipe.mlp == "swiglu":
        return SwiGLU(width, recipe.mlp_width(width))
    return GeluMLP(width, recipe.mlp_width(width), recipe.bias)


class Block(nn.Module):
    """x = x + Mixer(Norm(x)), then x = x + MLP(Norm(x)) unless the recipe has no MLP; returns (x, mixer's h_n)."""

    def __init__(self, mixer: nn.Module, width: int, directions: int, recipe: BlockRecipe) -> None:
        super().__init__()
        self.mixer_norm = norm_layer(recipe, width)
        self.mixer = mixer
        # Both directions' outputs, joined, back to the residual's width.
        self.merge = nn.Linear(directions * width, width, bias=recipe.bias) if directions > 1 else None
        self.mlp_norm = norm_layer(recipe, width) if recipe.mlp != "none" else None
        self.mlp = channel_mlp(recipe, width)
        self.dropout = nn.Dropout(recipe.dropout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        mixed, state = self.mixer(self.mixer_norm(x))
        if self.merge is not None:
            mixed = self.merge(mixed)
        x = x + self.dropout(mixed)
        if self.mlp is not None:
            x = x + self.dropout(self.mlp(self.mlp_norm(x)))
        return x, state


class BareBlock(nn.Module):
    """A cell's layer that is a whole block itself (role "block"), stacked as it is."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.mixer = layer

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        return self.mixer(x)


class BlockModel(nn.Module):
    """Embedding -> blocks -> norm -> head over integer codes (see the module's docstring)."""

    scores_positions = True  # forward takes a mask of the positions to score

    def __init__(self, blocks: list[nn.Module], width: int, vocab_size: int, recipe: BlockRecipe,
                 positions: bool, max_seq_len: int | None) -> None:
        """`positions`: add the recipe's positions to the embedding (for a cell that needs them); learned ones
        are a table of `max_seq_len` rows."""
        super().__init__()
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, width)
        learned = positions and recipe.positions == "learned"
        if learned and max_seq_len is None:
            raise ValueError("learned positions need the longest sequence (CellConfig.max_seq_len)")
        self.learned_positions = nn.Embedding(max_seq_len, width) if learned else None
        self.sinusoidal = positions and recipe.positions == "sinusoidal"
        self.embedding_dropout = nn.Dropout(recipe.embedding_dropout)
        self.blocks = nn.ModuleList(blocks)
        self.norm = norm_layer(recipe, width)
        self.head = nn.Linear(width, vocab_size, bias=recipe.head_bias)
        if recipe.tie:
            self.head.weight = self.embedding.weight

    def encode(self, codes: torch.Tensor) -> torch.Tensor:
        """The codes themselves, as torch's embedding reads them: no one-hot tensor is ever built."""
        return codes.long()

    def _embed(self, codes: torch.Tensor) -> torch.Tensor:
        x = self.embedding(codes)
        if self.learned_positions is not None:
            x = x + self.learned_positions(torch.arange(codes.shape[1], device=codes.device))
        elif self.sinusoidal:
            x = x + sinusoidal_positions(codes.shape[1], x.shape[-1], x)
        return self.embedding_dropout(x)

    def forward(self, codes: torch.Tensor, scored: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (batch, time, vocab); with a boolean mask `scored` (batch, time), only at its True positions,
        as (positions, vocab) in row-major order."""
        x = self._embed(codes)
        for block in self.blocks:
            x, _ = block(x)
        x = self.norm(x)
        return self.head(x if scored is None else x[scored])

    def cell_states(self, codes: torch.Tensor) -> list[Any]:
        """Each block's mixer's final state after reading `codes`."""
        x, states = self._embed(codes), []
        for block in self.blocks:
            x, state = block(x)
            states.append(state)
        return states

    def mixer_parameter_count(self) -> int:
        """The cells' own parameters: every block's mixer, without the norms, MLPs, embedding and head."""
        return sum(count_parameters(block.mixer) for block in self.blocks)


def _drop_biases(module: nn.Module) -> None:
    """nanoGPT's bias=False for a cell's layer: every Linear and LayerNorm in it loses its bias."""
    for part in module.modules():
        if isinstance(part, (nn.Linear, nn.LayerNorm)) and part.bias is not None:
            part.bias = None


def _scaled_init(model: BlockModel, blocks: int) -> None:
    """Every Linear and Embedding weight N(0, 0.02), biases 0; each residual branch's output N(0, 0.02/sqrt(2L))."""
    for part in model.modules():
        if isinstance(part, (nn.Linear, nn.Embedding)):
            nn.init.normal_(part.weight, std=INIT_STD)
        if isinstance(part, nn.Linear) and part.bias is not None:
            nn.init.zeros_(part.bias)
    for block in model.blocks:
        outputs = [module for name, module in block.named_modules() if name.rsplit(".", 1)[-1] == RESIDUAL_OUTPUT]
        if getattr(block, "merge", None) is not None:
            outputs.append(block.merge)
        for output in outputs:
            nn.init.normal_(output.weight, std=INIT_STD / math.sqrt(2 * blocks))


def build(cell: CellSpec, config: CellConfig, vocab_size: int, seed: int, recipe: BlockRecipe) -> BlockModel:
    """`config.num_layers` blocks of width `config.hidden_size` around the cell, initialised from `seed`."""
    torch.manual_seed(seed)
    width = config.hidden_size
    mixer_config = CellConfig(width, width, 1, config.bidirectional, config.max_seq_len, mixer=True,
                              attention_dropout=recipe.attention_dropout)
    blocks: list[nn.Module] = []
    for _ in range(config.num_layers):
        mixer = build_layer(cell.build, mixer_config, cell.native_variants)
        if not recipe.bias:
            _drop_biases(mixer)
        blocks.append(BareBlock(mixer) if cell.role == "block"
                      else Block(mixer, width, config.directions, recipe))
    model = BlockModel(blocks, width, vocab_size, recipe, cell.needs_positions, config.max_seq_len)
    if recipe.scaled_init:
        _scaled_init(model, config.num_layers)
    return model
