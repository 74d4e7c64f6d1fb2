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
import math
import time
from array import array
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Iterable, Protocol, Sequence

from ..errors import BenchInputError

BACKEND_MODULES = {"torch": "benchsuite.backends.torch_backend", "numpy": "benchsuite.backends.numpy_backend"}
# Kept here, not read from the modules, so planning can skip rows without importing a backend.
BACKEND_DEVICES = {"torch": ("cpu", "cuda"), "numpy": ("cpu",)}
# Arithmetic precisions a session can train in: fp32 throughout, or forward and loss under autocast to bf16 or fp16
# (the weights, their gradients and the optimizer stay fp32). fp16 needs CUDA, where it comes with loss scaling.
PRECISIONS = ("fp32", "bf16", "fp16")
DEFAULT_PRECISION = "fp32"
# Adam's constants, torch.optim.Adam's defaults, for both backends' own Adam updates (each written to
# torch.optim.Adam's single-tensor update, so the backends and torch's optimizer agree step for step).
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


@dataclass(frozen=True, kw_only=True)
class TrainingSettings:
    """How a session trains its model.

    `seed` orders the mini-batches (the model's initial weights come from its backbone, built with the same seed);
    a `batch_size` of None is full batch (one step per epoch); `clip` is the largest gradient norm (None: no
    clipping); `weight_decay` is decoupled, as AdamW's (0: plain Adam); `steps`, for a task that draws fresh data,
    is how many batches of `batch_size` an epoch draws (None: the task's fixed training split, as for any task).
    """

    lr: float
    seed: int = 0
    device: str = "cpu"
    batch_size: int | None = None
    clip: float | None = None
    weight_decay: float = 0.0
    steps: int | None = None  # fresh batches per epoch, for a task with `TaskData.sample_batch`
    precision: str = DEFAULT_PRECISION
    compile: bool = False

    def __post_init__(self) -> None:
        check_precision(self.precision, self.device)


def check_precision(precision: str, device: str) -> None:
    """A precision in PRECISIONS that `device` supports; anything else is bad input."""
    if precision not in PRECISIONS:
        raise BenchInputError(f"--precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if precision == "fp16" and device != "cuda":
        # CPUs have no fast fp16 arithmetic and fp16 needs loss scaling; bf16 keeps fp32's range and needs none.
        raise BenchInputError(f"--precision fp16 needs --device cuda (the device here is {device}); on the CPU use "
                              "bf16 or fp32")


SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class Schedule:
    """The learning rate over a run, as a share of the set lr: `warmup` steps rising linearly from 1/warmup to 1,
    then constant, or (cosine) falling along half a cosine to `floor` (a share of lr) at the run's last step."""

    kind: str = "constant"
    warmup: int = 0
    floor: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.kind!r}")

    def scale(self, step: int, total: int) -> float:
        """The lr share at step `step` (0-based) of `total`."""
        if step < self.warmup:
            return (step + 1) / self.warmup
        if self.kind == "constant":
            return 1.0
        progress = (step - self.warmup) / max(1, total - 1 - self.warmup)
        return self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


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
    """What the model itself costs in memory, in bytes: its parameters, the optimizer's state tensors (Adam's two
    moments; its step counts are Python integers), and the activations one training step keeps for backward (each
    storage counted once, parameters left out: they are `param_bytes`)."""

    param_bytes: int
    optimizer_bytes: int
    activation_bytes: int


class StepTimer(Protocol):
    """Times each training step; `start` and `stop` bracket one step and must not wait for the device."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def seconds(self) -> Sequence[float]:
        """Every step's time so far, in order (may wait for the device, once)."""


class HostStepTimer:
    """Steps timed by the host's clock, for work that is done when the call returns (the CPU's): one integer clock
    read at each end and one integer kept per step, so timing costs the loop next to nothing."""

    def __init__(self) -> None:
        self._clock = time.perf_counter_ns
        self._started = 0
        self._elapsed_ns = array("q")  # eight bytes a step: a long run's steps must not cost a Python int each

    def start(self) -> None:
        self._started = self._clock()

    def stop(self) -> None:
        self._elapsed_ns.append(self._clock() - self._started)

    def seconds(self) -> Sequence[float]:
        return array("d", (ns * 1e-9 for ns in self._elapsed_ns))


class Predictor(Protocol):
    """A model that reads characters and scores the next one."""

    def logits(self, codes: Any) -> Any:
        """Logits (batch, time, vocab) as a numpy array for integer codes (batch, time), without training."""


class Session(Protocol):
    """One model on one task's data on one device, ready to train."""

    param_count: int  # the whole model's trainable scalars
    mixer_param_count: int  # the cells' own: the model less its backbone's embedding, norms, MLPs and head
    compile_seconds: float | None  # time spent compiling the model before training (None: not compiled)

    def batches(self, epoch: int) -> Iterable[Any]:
        """The batches of one epoch, in order; opaque to the core."""

    def steps_per_epoch(self) -> int:
        """How many batches `batches` yields per epoch."""

    def scale_lr(self, scale: float) -> None:
        """Set the learning rate of the next steps to `scale` x the settings' lr (a schedule's doing)."""

    def train_step(self, batch: Any) -> StepStats:
        """Forward, loss, backward and one optimizer update on `batch`."""

    def step_timer(self) -> StepTimer:
        """A timer for this session's training steps, right for its device."""

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
