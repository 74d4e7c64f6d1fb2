"""Backends train a built model on one device; the core drives them through `Session`.

A backend module exposes `open_session(model, data, settings: TrainingSettings) -> Session` for a model its
backbone built (`benchsuite.backbones`), and `restore(model, state) -> Predictor`, such a model loaded with a
session's `state()`; the devices each backend runs on are listed here in BACKEND_DEVICES. Backend modules import
their heavy libraries at top, so they are imported only when a run needs them.

Both backends train with Adam on cross-entropy over the vocabulary; weight decay is decoupled (AdamW's) and reaches
only the matrices (`takes_weight_decay`), and clipping rescales all gradients together before each update.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Iterable, Protocol

from ..errors import BenchInputError

BACKEND_MODULES = {"torch": "benchsuite.backends.torch_backend", "numpy": "benchsuite.backends.numpy_backend"}
# Kept here, not read from the modules, so planning can skip rows without importing a backend.
BACKEND_DEVICES = {"torch": ("cpu", "cuda"), "numpy": ("cpu",)}
SPLITS = ("train", "valid", "test")  # a task's splits; train is always there, the held-out ones where it has them


@dataclass(frozen=True, kw_only=True)
class TrainingSettings:
    """How a session trains its model.

    `seed` orders the mini-batches (the model's initial weights come from its backbone, built with the same seed);
    a `batch_size` of None is full batch (one step per epoch); `clip` is the largest gradient norm (None: no
    clipping); `weight_decay` is decoupled, as AdamW's (0: plain Adam).
    """

    lr: float
    seed: int = 0
    device: str = "cpu"
    batch_size: int | None = None
    clip: float | None = None
    weight_decay: float = 0.0


def takes_weight_decay(parameter: Any) -> bool:
    """Whether weight decay applies to a parameter (a tensor or array): matrices and beyond do, while biases,
    norm gains and other vectors do not (nanoGPT's rule: decaying them only pulls the model off its scale)."""
    return parameter.ndim >= 2


@dataclass(frozen=True)
class StepStats:
    """One optimizer step: mean loss over counted targets, how many were predicted right, how many counted."""

    loss: float
    correct: int
    counted: int


@dataclass(frozen=True)
class EvalStats:
    """Loss and accuracy of the current model over one whole split, without training.

    `row_correct` and `row_counted` (arrays, one value per row of the split, in its order): how many targets
    of each row were predicted right and how many count, so accuracy can be taken over any group of rows.
    """

    loss: float
    accuracy: float
    row_correct: Any = field(default=None, compare=False)
    row_counted: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class Footprint:
    """What the model itself costs in memory, in bytes: its parameters, the optimizer's state (Adam's two moments
    and step counts), and the activations one training step keeps for backward (each storage counted once,
    parameters left out: they are `param_bytes`)."""

    param_bytes: int
    optimizer_bytes: int
    activation_bytes: int


class Predictor(Protocol):
    """A model that reads characters and scores the next one."""

    def logits(self, codes: Any) -> Any:
        """Logits (batch, time, vocab) as a numpy array for integer codes (batch, time), without training."""


class Session(Protocol):
    """One model on one task's data on one device, ready to train."""

    param_count: int

    def batches(self, epoch: int) -> Iterable[Any]:
        """The batches of one epoch, in order; opaque to the core."""

    def train_step(self, batch: Any) -> StepStats:
        """Forward, loss, backward and one optimizer update on `batch`."""

    def evaluate(self, split: str) -> EvalStats | None:
        """Stats on "train", "valid" or "test" (None when the task has no such split)."""

    def state_size(self) -> int | None:
        """Floats of recurrent state the cell carries per sequence: the size of one sequence's `h_n` (an LSTM's
        h and c together); None for a layer that returns no state."""

    def infer(self, batch: Any) -> int:
        """One forward pass over `batch` (one of `batches`), no gradient, no loss; returns how many input
        characters it read (samples x steps). May return before queued device work is done."""

    def synchronize(self) -> None:
        """Wait for queued device work, so a clock read after it is honest."""

    def logits(self, codes: Any) -> Any:
        """As `Predictor.logits`, for the model as trained so far."""

    def state(self) -> dict[str, Any]:
        """Every trained array as numpy, named as torch's model state dict names it (`restore` reads it back)."""

    def footprint(self, batch: Any) -> Footprint:
        """The model's memory figures, measured with one forward pass over `batch` (no update)."""


def get_backend(name: str) -> ModuleType:
    """The backend module for `name`; unknown names are a bad-input error."""
    if name not in BACKEND_MODULES:
        raise BenchInputError(f"unknown backend {name!r}; known backends: {', '.join(sorted(BACKEND_MODULES))}")
    return importlib.import_module(BACKEND_MODULES[name])
