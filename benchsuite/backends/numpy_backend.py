"""The numpy backend: a numpy model (its backbone's, initialised there), softmax cross-entropy and Adam, on CPU.

It mirrors the torch backend step for step, so that the two train the same model the same way:
- The optimizer updates the model's `params` arrays in place, so a cell must keep the same array
  objects and may only rebind entries of `grads` (which are read again after every backward).
- Arithmetic is float64; loss, gradients and the Adam update follow torch's formulas
  (`F.cross_entropy` with ignored targets, `torch.optim.Adam` with its defaults; with weight decay,
  `torch.optim.AdamW`'s decoupled decay, on matrices only; with `clip`, `nn.utils.clip_grad_norm_` before the
  update).
"""
from __future__ import annotations

import inspect
import math
from types import ModuleType
from typing import Any, Iterable, Iterator

import numpy as np

from ..errors import BenchInputError
from ..layers import Workspace
from ..specs import SPLITS, TaskData
from . import (
    ADAM_BETAS,
    ADAM_EPS,
    BACKEND_DEVICES,
    DEFAULT_PRECISION,
    EvalStats,
    Footprint,
    HostStepTimer,
    StepStats,
    TrainingSettings,
    takes_weight_decay,
)
from .batching import chunks, fresh_batches, is_full_batch, shuffled_batches, steps_per_epoch

# Logits this far below a position's maximum get a probability under 4e-44 either way. Flooring them here keeps
# np.exp off its underflow path, 10 to 20 times slower, which confident models otherwise reach within epochs;
# no loss or gradient moves by more than 1e-40.
LOGIT_FLOOR = -100.0


class Batch:
    """Samples turned into what a step needs: the model's inputs (`x`, encoded by the model), and targets with
    ignored ones weighted zero, flattened time-major (step by step) as the model orders its logits' positions."""

    def __init__(self, x: Any, y: np.ndarray) -> None:
        self.x = x
        targets = y.T.reshape(-1)
        self.counted_mask = targets >= 0
        self.counted = int(self.counted_mask.sum())
        self.positions = np.arange(targets.size)
        self.targets = np.where(self.counted_mask, targets, 0)  # ignored ones point anywhere; they weigh zero
        # Each counted target weighs 1/counted: cross_entropy's mean over the targets it does not ignore.
        self.weights = self.counted_mask / max(self.counted, 1)


def score(logits: np.ndarray, batch: Batch) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean cross-entropy over counted targets, how many of each row's were predicted right, and the softmax
    probabilities.

    The probabilities overwrite `logits` (no new array). With positions as columns, the reductions over
    the vocabulary run along long contiguous rows, several times faster than across short ones.
    """
    logits -= logits.max(axis=0)
    target_shifted = logits[batch.targets, batch.positions]
    np.maximum(logits, LOGIT_FLOOR, out=logits)
    probabilities = np.exp(logits, out=logits)
    totals = probabilities.sum(axis=0)
    loss = float((np.log(totals) - target_shifted) @ batch.weights)
    # Right when the target's logit is the maximum (argmax without a slow strided argmax). An exact tie
    # would count as right where argmax picks the first index; random weights do not produce ties.
    right = (target_shifted == 0.0) & batch.counted_mask
    probabilities /= totals
    return loss, right.reshape(-1, len(batch.x)).sum(axis=0), probabilities  # time-major positions: (steps, rows)


CLIP_EPS = 1e-6  # clip_grad_norm_'s guard against a zero norm


class Adam:
    """torch.optim.Adam's update (no amsgrad), over all parameters as one flat vector; with `weight_decay`,
    AdamW's decoupled decay on the parameters that take it (`takes_weight_decay`), and with `clip`, the gradient
    norm clipped first as clip_grad_norm_ does."""

    def __init__(self, params: list[np.ndarray], lr: float, betas: tuple[float, float] = ADAM_BETAS,
                 eps: float = ADAM_EPS, clip: float | None = None, weight_decay: float = 0.0) -> None:
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.clip, self.weight_decay = clip, weight_decay
        self.decayed = [param for param in params if takes_weight_decay(param)]
        ends = np.cumsum([p.size for p in params])
        self.spans = list(zip([0, *ends[:-1]], ends))
        size = int(ends[-1]) if len(ends) else 0
        self.grad, self.exp_avg, self.exp_avg_sq = np.zeros(size), np.zeros(size), np.zeros(size)
        self.scratch, self.denom = np.empty(size), np.empty(size)
        self.steps = 0

    def step(self, grads: list[np.ndarray]) -> None:
        np.concatenate([g.reshape(-1) for g in grads], out=self.grad)
        beta1, beta2 = self.betas
        grad, scratch = self.grad, self.scratch
        if self.clip is not None:
            grad *= min(self.clip / (float(np.linalg.norm(grad)) + CLIP_EPS), 1.0)
        if self.weight_decay:
            for param in self.decayed:  # param.mul_(1 - lr * weight_decay)
                param *= 1 - self.lr * self.weight_decay
        self.steps += 1
        np.subtract(grad, self.exp_avg, out=scratch)  # exp_avg.lerp_(grad, 1 - beta1)
        scratch *= 1 - beta1
        self.exp_avg += scratch
        self.exp_avg_sq *= beta2  # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - beta2
        self.exp_avg_sq += scratch
        step_size = self.lr / (1 - beta1 ** self.steps)
        np.sqrt(self.exp_avg_sq, out=self.denom)  # (exp_avg_sq.sqrt() / sqrt(bias_correction2)) + eps
        self.denom /= math.sqrt(1 - beta2 ** self.steps)
        self.denom += self.eps
        np.divide(self.exp_avg, self.denom, out=scratch)  # param.addcdiv_(exp_avg, denom, value=-step_size)
        scratch *= -step_size
        for param, (start, end) in zip(self.params, self.spans):
            param += scratch[start:end].reshape(param.shape)


def _root(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory a view looks into."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def kept_array_bytes(holders: Iterable[object], exclude: Iterable[np.ndarray] = ()) -> int:
    """Bytes of the arrays reachable from `holders`' attributes (through lists, tuples, dicts and plain objects),
    each block of memory counted once; `exclude` (parameters, gradients) and workspaces (scratch reused by every
    step, not kept for backward) are left out."""
    excluded = {id(_root(array)) for array in exclude}
    owners: dict[int, int] = {}
    visited: set[int] = set()

    def visit(value: object) -> None:
        if id(value) in visited or isinstance(value, (type, ModuleType, Workspace)) or inspect.isroutine(value):
            return
        visited.add(id(value))
        if isinstance(value, np.ndarray):
            root = _root(value)
            if id(root) not in excluded:
                owners[id(root)] = root.nbytes
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
        elif hasattr(value, "__dict__"):
            visit(vars(value))

    for holder in holders:
        visit(holder)
    return sum(owners.values())


class NumpySession:
    """A numpy model trained on one task's data, on CPU (see `benchsuite.backends.Session`)."""

    def __init__(self, model: Any, data: TaskData, settings: TrainingSettings) -> None:
        if settings.precision != DEFAULT_PRECISION or settings.compile:
            raise BenchInputError(f"the numpy backend trains in {DEFAULT_PRECISION} and compiles nothing; "
                                  "--precision and --compile apply to torch cells")
        self.compile_seconds = None  # nothing is compiled
        self.model = model
        self.vocab_size = len(data.vocab)
        self.seed, self.batch_size = settings.seed, settings.batch_size
        self.names = list(model.params)
        self.lr = settings.lr
        self.optimizer = Adam(list(model.params.values()), settings.lr, clip=settings.clip,
                              weight_decay=settings.weight_decay)
        self.param_count = sum(p.size for p in model.params.values())
        self.mixer_param_count = model.mixer_parameter_count()
        self.data = {split: (np.asarray(getattr(data, f"x_{split}")), np.asarray(getattr(data, f"y_{split}")))
                     for split in SPLITS if getattr(data, f"x_{split}") is not None}
        self._full_batches: dict[str, Batch] = {}
        self.sample_batch = data.sample_batch if settings.steps is not None else None
        self.steps = settings.steps

    def _grads(self) -> list[np.ndarray]:
        grads = self.model.grads  # read again each step: a cell may rebind its grads
        return [grads[name] for name in self.names]

    def _whole(self, split: str) -> Batch:
        """The whole split as one batch, built once and kept: full-batch training reuses it every epoch."""
        if split not in self._full_batches:
            self._full_batches[split] = self._batch(*self.data[split])
        return self._full_batches[split]

    def _rows(self, split: str) -> int:
        return len(self.data[split][0])

    def _batches(self, split: str, selections: Iterable[np.ndarray | slice]) -> Iterator[Batch]:
        x, y = self.data[split]
        for rows in selections:
            yield self._batch(x[rows], y[rows])

    def _batch(self, x: np.ndarray, y: np.ndarray) -> Batch:
        return Batch(self.model.encode(x), y)

    def batches(self, epoch: int) -> Iterable[Batch]:
        rows = self._rows("train")
        if self.sample_batch is not None:
            return (self._batch(np.asarray(x), np.asarray(y))
                    for x, y in fresh_batches(self.sample_batch, self.steps, self.batch_size or rows, self.seed, epoch))
        if is_full_batch(rows, self.batch_size):
            return (self._whole("train"),)
        return self._batches("train", shuffled_batches(rows, self.batch_size, self.seed, epoch))

    def steps_per_epoch(self) -> int:
        if self.sample_batch is not None:
            return self.steps
        return steps_per_epoch(self._rows("train"), self.batch_size)

    def scale_lr(self, scale: float) -> None:
        self.optimizer.lr = self.lr * scale

    def train_step(self, batch: Batch) -> StepStats:
        loss, row_correct, d_logits = score(self.model.forward(batch.x), batch)
        d_logits[batch.targets, batch.positions] -= 1.0  # softmax - one_hot(target), ...
        d_logits *= batch.weights  # ... averaged over counted targets, zero for ignored ones
        self.model.backward(d_logits)
        self.optimizer.step(self._grads())
        return StepStats(loss, int(row_correct.sum()), batch.counted)

    def evaluate(self, split: str) -> EvalStats | None:
        if split not in self.data:
            return None
        loss_sum = counted = 0
        rights = []
        rows = self._rows(split)
        whole = is_full_batch(rows, self.batch_size)
        for batch in (self._whole(split),) if whole else self._batches(split, chunks(rows, self.batch_size)):
            loss, row_correct, _ = score(self.model.forward(batch.x), batch)
            loss_sum += loss * batch.counted
            rights.append(row_correct)
            counted += batch.counted
        row_correct = np.concatenate(rights)
        row_counted = (self.data[split][1] >= 0).sum(axis=1)
        return EvalStats(loss_sum / max(counted, 1), int(row_correct.sum()) / max(counted, 1), row_correct,
                         row_counted)

    def state_size(self) -> int | None:
        finals = self.model.cell_states(next(self._batches("train", [slice(0, 1)])).x)
        if any(final is None for final in finals):  # a cell without a usable state: nothing to count
            return None
        return sum(np.asarray(part)[:, 0].size for final in finals
                   for part in (final if isinstance(final, tuple) else (final,)))

    def infer(self, batch: Batch) -> int:
        self.model.forward(batch.x)
        samples, steps = batch.x.shape[:2]
        return samples * steps

    def step_timer(self) -> HostStepTimer:
        return HostStepTimer()

    def synchronize(self) -> None:
        """Nothing is queued: NumPy computes eagerly on the CPU."""

    def logits(self, codes: Any) -> np.ndarray:
        return self.model.logits(codes)

    def state(self) -> dict[str, np.ndarray]:
        return {name: value.copy() for name, value in self.model.params.items()}

    def footprint(self, batch: Batch) -> Footprint:
        params = list(self.model.params.values())
        self.model.forward(batch.x)  # what the model keeps is what the last forward left
        return Footprint(sum(p.nbytes for p in params),
                         self.optimizer.exp_avg.nbytes + self.optimizer.exp_avg_sq.nbytes,
                         kept_array_bytes((self.model,), [*params, *self.model.grads.values()]))


def open_session(model: Any, data: TaskData, settings: TrainingSettings) -> NumpySession:
    if settings.device not in BACKEND_DEVICES["numpy"]:  # planning skips such rows; this guards direct callers
        raise BenchInputError(f"backend 'numpy' runs on {', '.join(BACKEND_DEVICES['numpy'])} only, "
                              f"not {settings.device}")
    return NumpySession(model, data, settings)


def restore(model: Any, state: dict[str, Any]) -> Any:
    """`model` (a numpy backbone's) with a session's `state()` copied into its arrays: a Predictor."""
    for name, value in model.params.items():
        if np.shape(state[name]) != value.shape:  # where a copy would broadcast a smaller array silently
            raise ValueError(f"size mismatch for {name}: {np.shape(state[name])} in the state, {value.shape} in "
                             "the model")
        value[...] = state[name]
    return model
