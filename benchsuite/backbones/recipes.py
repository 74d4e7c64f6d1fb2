"""The `block` backbone's recipe: its knobs, their defaults, and the presets that pin the published recipes.

Sources (see the literature notes, section A): the default is the minLM / minRNNs recipe (RMSNorm, GELU MLP x4,
untied bias-free head, no dropout, torch's default initialisation); `zoology` is Zoology's MQAR model (LayerNorm,
no MLP, tied head, embedding and attention dropout 0.1, N(0, 0.02) init with residual outputs scaled, learned
positions for attention); `nanogpt` is nanoGPT's GPT with bias=False (LayerNorm without bias, GELU x4, tied head,
the same init, learned positions); `mad` is MAD's LanguageModel (RMSNorm, SwiGLU, untied biased head).
Backend-neutral and light: planning reads it without importing torch.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ..errors import BenchInputError

NORMS = ("layernorm", "rmsnorm")
MLPS = ("none", "gelu", "swiglu")
POSITIONS = ("sinusoidal", "learned")  # added to the embedding only for cells that need them (attention)
SWIGLU_MULTIPLE = 16  # MAD rounds SwiGLU's inner width up to a multiple of 16


@dataclass(frozen=True, kw_only=True)
class BlockRecipe:
    """How the `block` backbone wraps a cell.

    `mlp_mult` sets the MLP's inner width: mult x d for GELU, 2/3 x mult x d rounded up to a multiple of 16 for
    SwiGLU (8d/3 at the default 4, as MAD). `dropout` falls on each residual branch's output, `embedding_dropout`
    on the embedding's, `attention_dropout` on the attention weights of a mixer that attends (passed to the cell
    as `CellConfig.attention_dropout`). `scaled_init`: every Linear and Embedding weight N(0, 0.02) and biases 0,
    each residual branch's output matrix N(0, 0.02 / sqrt(2 x blocks)) (Zoology, nanoGPT); otherwise torch's
    defaults. `bias` False drops the biases of every Linear and LayerNorm in the model, the mixers' included
    (nanoGPT's bias=False); `head_bias` is the head's own.
    """

    norm: str = "rmsnorm"
    mlp: str = "gelu"
    mlp_mult: float = 4.0
    tie: bool = False
    dropout: float = 0.0
    embedding_dropout: float = 0.0
    attention_dropout: float = 0.0
    scaled_init: bool = False
    bias: bool = True
    head_bias: bool = False
    positions: str = "sinusoidal"

    def __post_init__(self) -> None:
        for name, allowed in (("norm", NORMS), ("mlp", MLPS), ("positions", POSITIONS)):
            if getattr(self, name) not in allowed:
                raise BenchInputError(f"block recipe: {name} must be one of {', '.join(allowed)}, "
                                      f"got {getattr(self, name)!r}")
        if not (math.isfinite(self.mlp_mult) and self.mlp_mult > 0):
            raise BenchInputError(f"block recipe: mlp_mult must be a number above 0, got {self.mlp_mult!r}")
        for name in ("dropout", "embedding_dropout", "attention_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise BenchInputError(f"block recipe: {name} must lie in [0, 1), got {getattr(self, name)!r}")

    def mlp_width(self, width: int) -> int:
        """The MLP's inner width for model width `width`."""
        if self.mlp == "swiglu":
            return math.ceil(math.ceil(2 * self.mlp_mult * width / 3) / SWIGLU_MULTIPLE) * SWIGLU_MULTIPLE
        return math.ceil(self.mlp_mult * width)

    def settings(self) -> dict[str, Any]:
        """Every knob by name, as a row records it."""
        return asdict(self)


PRESETS: dict[str, BlockRecipe] = {
    "zoology": BlockRecipe(norm="layernorm", mlp="none", tie=True, embedding_dropout=0.1, attention_dropout=0.1,
                           scaled_init=True, positions="learned"),
    "nanogpt": BlockRecipe(norm="layernorm", mlp="gelu", tie=True, scaled_init=True, bias=False,
                           positions="learned"),
    "mad": BlockRecipe(norm="rmsnorm", mlp="swiglu", head_bias=True),
}


KNOBS = {knob.name: knob.default for knob in fields(BlockRecipe)}


def recipe(preset: str | None = None, **knobs: Any) -> BlockRecipe:
    """The default recipe or `preset`'s, with `knobs` (knob name -> typed value) on top."""
    if preset is not None and preset not in PRESETS:
        raise BenchInputError(f"unknown block preset {preset!r}; known presets: {', '.join(PRESETS)}")
    unknown = sorted(set(knobs) - set(KNOBS))
    if unknown:
        raise BenchInputError(f"unknown block knob(s) {', '.join(unknown)}; known knobs: {', '.join(KNOBS)}")
    return replace(PRESETS[preset] if preset else BlockRecipe(), **knobs)

