"""Modern baselines as built-in cells: minGRU, minLSTM, LRU and a causal Transformer.

Only hook functions live here; each cell's torch code is imported inside its `build`, so `bench list` stays fast.
"""
from __future__ import annotations

from typing import Callable

from benchsuite import CellConfig, CellSpec, hookimpl


def build_mingru(config: CellConfig, expansion: float = 1.0) -> object:
    """`expansion` e: a state of e x hidden_size with an output projection back (minGRU's mixer form)."""
    from .layers.min_rnn import MinGRU

    return MinGRU(config.input_size, config.hidden_size, expansion)


def build_minlstm(config: CellConfig, expansion: float = 1.0) -> object:
    """`expansion` e: a state of e x hidden_size with an output projection back (minGRU's mixer form)."""
    from .layers.min_rnn import MinLSTM

    return MinLSTM(config.input_size, config.hidden_size, expansion)


def build_lru(config: CellConfig) -> object:
    """As a block backbone's mixer the LRU drops its GLU: the block's MLP takes that role."""
    from .layers.lru import LRU

    return LRU(config.input_size, config.hidden_size, glu=not config.mixer)


def build_transformer(config: CellConfig, heads: int = 0) -> object:
    """`num_layers` blocks; `bidirectional=True` drops the causal mask (the suite keeps it off causal tasks).
    As a block backbone's mixer (`config.mixer`) each block is bare self-attention (`SelfAttention`), dropping
    `config.attention_dropout` of its attention weights while training. `heads`: attention heads, a divisor of
    hidden_size (0: the most heads of at least 16 features that divide it).

    Layers and directions are wired as for every other cell (stacked; a second direction reads the sequence
    reversed and is concatenated), so outputs have torch's shapes and each block holds a single layer's parameters.
    """
    from functools import partial

    from torch import nn

    from benchsuite.layers.torch_layers import build_layer

    from .layers.transformer import SelfAttention, TransformerLayer

    def block(single: CellConfig, causal: bool) -> nn.Module:
        if config.mixer:  # a block backbone's mixer: attention alone, d -> d
            return SelfAttention(single.hidden_size, causal, heads, config.attention_dropout)
        return TransformerLayer(single.input_size, single.hidden_size, causal, heads)

    return build_layer(partial(block, causal=not config.bidirectional), config, native_variants=False)


def transformer_constraint(config: CellConfig, heads: int = 0) -> str:
    """Heads split the hidden size evenly."""
    if heads < 0:
        return f"heads must be 0 (chosen from the hidden size) or more, got {heads}"
    return "" if heads == 0 or config.hidden_size % heads == 0 else f"hidden_size must be a multiple of heads ({heads})"


@hookimpl
def register_cells(register: Callable[[CellSpec], None]) -> None:
    register(CellSpec("mingru", "torch", build_mingru,
                      "minGRU (Feng et al. 2024): gates read only the input; blocked parallel scan"))
    register(CellSpec("minlstm", "torch", build_minlstm,
                      "minLSTM (Feng et al. 2024): normalised forget/input gates; blocked parallel scan"))
    register(CellSpec("lru", "torch", build_lru,
                      "linear recurrent unit (Orvieto et al. 2023): complex diagonal recurrence, GLU readout"))
    register(CellSpec("transformer", "torch", build_transformer,
                      "pre-LayerNorm Transformer, one block per layer; causal unless bidirectional",
                      native_variants=True, constraint=transformer_constraint, needs_positions=True))
