"""The model around a cell: a backbone takes the cell's layers and adds what a character model needs around them.

A backbone is named in BACKBONES, with one module per backend. Each module has `build(cell, config, vocab_size,
seed) -> model`, the model's initial weights drawn from `seed`; the backends train what it returns. A model
offers, whatever its backbone:
- `encode(codes)`: a batch's input as the model reads it, from integer codes (batch, time); sessions keep it for
  the whole split where they can, so one-hot inputs are built once;
- `cell_states(x)`: the final state of each of its cells after reading `x` (None for a cell without one);
- `mixer_parameter_count()`: the cells' own parameters (the whole model less embedding, norms, MLPs and head);
- torch: an `nn.Module` whose forward maps an encoded batch to logits (batch, time, vocab);
  numpy: `params`/`grads` named as the torch model's state dict, `forward(x)` -> logits (vocab, positions),
  positions time-major, `backward(d_logits)`, and `logits(codes)` as `benchsuite.backends.Predictor`.

Backbones:
- `stack` (the notebook's): one-hot characters -> the cell's layers (deep and bidirectional variants composed by
  `benchsuite.layers` where the cell does not build them) -> a linear head over the vocabulary at every step.
- `block` (the field's, torch only): embedding -> blocks of pre-norm residual mixer and MLP -> norm -> head, the
  cell one block's mixer, shaped by a `BlockRecipe` (recipes.py: knobs and presets). It reads integer codes, and
  its forward also takes an optional boolean mask of the positions to score (`scores_positions`).
"""
from __future__ import annotations

import importlib
from typing import Any

from ..backends import Predictor, Session, TrainingSettings, get_backend
from ..errors import BenchInputError
from ..specs import CellConfig, CellSpec, TaskData
from .recipes import BlockRecipe

BACKBONES: dict[str, dict[str, str]] = {
    "stack": {"torch": "benchsuite.backbones.torch_stack", "numpy": "benchsuite.backbones.numpy_stack"},
    "block": {"torch": "benchsuite.backbones.torch_block"},
}
RECIPE_BACKBONES = ("block",)  # the backbones a BlockRecipe shapes
DEFAULT_BACKBONE = "stack"


def unsupported(cell: CellSpec, backbone: str) -> str:
    """Why `backbone` cannot be built around `cell` ("" when it can): a known backbone without a model for the
    cell's backend (planning skips such rows with this reason)."""
    modules = BACKBONES[backbone]
    if cell.backend in modules:
        return ""
    return f"backbone {backbone!r} has no {cell.backend} model; it is built for {', '.join(sorted(modules))}"


def build_model(cell: CellSpec, config: CellConfig, vocab_size: int, seed: int, backbone: str = DEFAULT_BACKBONE,
                recipe: BlockRecipe | None = None) -> Any:
    """The `backbone` model around `cell` for `config` and a vocabulary of `vocab_size`, initialised from `seed`;
    `recipe` shapes a `block` model (None: the default recipe) and is refused for other backbones."""
    if backbone not in BACKBONES:
        raise BenchInputError(f"unknown backbone {backbone!r}; known backbones: {', '.join(sorted(BACKBONES))}")
    refusal = unsupported(cell, backbone)
    if refusal:
        raise BenchInputError(f"cell {cell.name!r}: {refusal}")
    if recipe is not None and backbone not in RECIPE_BACKBONES:
        raise BenchInputError(f"a block recipe shapes only the {', '.join(RECIPE_BACKBONES)} backbone, not "
                              f"{backbone!r}")
    shaped = {} if backbone not in RECIPE_BACKBONES else {"recipe": recipe or BlockRecipe()}
    return importlib.import_module(BACKBONES[backbone][cell.backend]).build(cell, config, vocab_size, seed, **shaped)


def open_session(cell: CellSpec, config: CellConfig, data: TaskData, settings: TrainingSettings,
                 backbone: str = DEFAULT_BACKBONE, recipe: BlockRecipe | None = None) -> Session:
    """A session of the cell's backend training the `backbone` model around `cell` on `data`, its weights drawn
    from the settings' seed."""
    model = build_model(cell, config, len(data.vocab), settings.seed, backbone, recipe)
    return get_backend(cell.backend).open_session(model, data, settings)


def restore(cell: CellSpec, config: CellConfig, vocab_size: int, state: dict[str, Any],
            backbone: str = DEFAULT_BACKBONE, recipe: BlockRecipe | None = None) -> Predictor:
    """The trained model of a session's `state()`, rebuilt around `cell` and loaded, on the CPU."""
    model = build_model(cell, config, vocab_size, seed=0, backbone=backbone, recipe=recipe)  # weights overwritten
    return get_backend(cell.backend).restore(model, state)
