"""The numpy backend: one-hot inputs, the cell, a linear head, softmax cross-entropy and Adam, all in NumPy, on CPU.

It mirrors the torch backend step for step, so that the two train the same model the same way:
- Initialisation is the backend's job, as it is a torch module's: a numpy cell may create its
  `params` with any values (zeros will do) and never needs a random generator. The session fills
  every array of the cell's `params` in place, in the order of that dict, from
  U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (torch's rule for RNN, LSTM and GRU), then the
  head's weight and bias from U(-1/sqrt(features), 1/sqrt(features)) (nn.Linear's rule), all drawn
  from `np.random.default_rng(seed)`.
- The optimizer updates the cell's `params` arrays in place, so a cell must keep the same array
  objects and may only rebind entries of `grads` (which are read again after every backward).
- Arithmetic is float64; loss, gradients and the Adam update follow torch's formulas
  (`F.cross_entropy` with ignored targets, `torch.optim.Adam` with its defaults).
"""
from __future__ import annotations

import inspect
import math
from types import ModuleType
from typing import Any, Iterable, Iterator

import numpy as np

from ..errors import BenchInputError
from .batching import chunks, is_full_batch, shuffled_batches
from ..specs import CellConfig, CellSpec, TaskData
from . import BACKEND_DEVICES, EvalStats, Footprint, StepStats
from .numpy_variants import build_layer
from .workspace import Workspace

LAYER_PREFIX, HEAD_PREFIX = "layer.", "head."  # the names torch's CharModel state dict uses
# Logits this far below a position's maximum get a probability under 4e-44 either way. Flooring them here keeps
# np.exp off its underflow path, 10 to 20 times slower, which confident models otherwise reach within epochs;
# no loss or gradient moves by more than 1e-40.
LOGIT_FLOOR = -100.0


class Batch:
    """Samples turned into what a step needs: one-hot inputs, and targets with ignored ones weighted zero.

    Positions are flattened time-major (step by step), the order in which a recurrent cell produces
    them, so the head reads a time-major cell's output without copying it.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, vocab_size: int) -> None:
        # Built time-major, handed over as the batch-first view (batch, time, vocab) the cell contract asks for.
        self.x = np.eye(vocab_size)[x.T].transpose(1, 0, 2)
        targets = y.T.reshape(-1)
        self.counted_mask = targets >= 0
        self.counted = int(self.counted_mask.sum())
        self.positions = np.arange(targets.size)
        self.targets = np.where(self.counted_mask, targets, 0)  # ignored ones point anywhere; they weigh zero
        # Each counted target weighs 1/counted: cross_entropy's mean over the targets it does not ignore.
        self.weights = self.counted_mask / max(self.counted, 1)


class LinearHead:
    """nn.Linear from features to vocabulary logits, with positions as columns: logits are (vocab, positions)."""

    def __init__(self, features: int, vocab_size: int) -> None:
        self.params = {"weight": np.zeros((vocab_size, features)), "bias": np.zeros(vocab_size)}
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self._inputs = np.zeros((0, features))
        self._workspace = Workspace()

    def forward(self, inputs: np.ndarray) -> np.ndarray:
        """Logits (vocab, positions) for `inputs` (positions, features), reused by the next call."""
        self._inputs = inputs
        weight = self.params["weight"]
        logits = np.matmul(weight, inputs.T, out=self._workspace.array("logits", (len(weight), len(inputs))))
        logits += self.params["bias"][:, None]
        return logits

    def backward(self, d_logits: np.ndarray) -> np.ndarray:
        """Fills `grads` and returns d_inputs (positions, features), reused by the next call."""
        np.matmul(d_logits, self._inputs, out=self.grads["weight"])
        np.sum(d_logits, axis=1, out=self.grads["bias"])
        d_inputs = self._workspace.array("d_inputs", self._inputs.shape)
        return np.matmul(d_logits.T, self.params["weight"], out=d_inputs)


def score(logits: np.ndarray, batch: Batch) -> tuple[float, int, np.ndarray]:
    """Mean cross-entropy over counted targets, how many were predicted right, and the softmax probabilities.

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
    correct = int(np.count_nonzero((target_shifted == 0.0) & batch.counted_mask))
    probabilities /= totals
    return loss, correct, probabilities


class Adam:
    """torch.optim.Adam's update (defaults: no weight decay, no amsgrad), over all parameters as one flat vector."""

    def __init__(self, params: list[np.ndarray], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
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


class NumpyPredictor:
    """The layer and head of a numpy char model, scoring the next character (see `benchsuite.backends.Predictor`)."""

    def __init__(self, layer: Any, head: LinearHead, features: int, vocab_size: int) -> None:
        self.layer, self.head, self.features, self.vocab_size = layer, head, features, vocab_size

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
        """Logits (vocab, positions), positions time-major, for one-hot `x` (batch, time, vocab); and the
        layer output's shape."""
        output, _ = self.layer.forward(x)
        # Time-major rows, as Batch orders targets; a view for cells that are time-major inside.
        features = output.transpose(1, 0, 2).reshape(-1, self.features)
        return self.head.forward(features), output.shape

    def logits(self, codes: Any) -> np.ndarray:
        codes = np.asarray(codes)
        samples, steps = codes.shape
        logits, _ = self.forward(np.eye(self.vocab_size)[codes])
        return logits.reshape(self.vocab_size, steps, samples).transpose(2, 1, 0).copy()


def _uniform_fill(arrays: Iterable[np.ndarray], bound: float, rng: np.random.Generator) -> None:
    for array in arrays:
        array[...] = rng.uniform(-bound, bound, array.shape)


class NumpySession:
    """A char model for one numpy cell, task and seed, on CPU (see `benchsuite.backends.Session`)."""

    def __init__(self, cell: CellSpec, config: CellConfig, data: TaskData, lr: float, seed: int,
                 batch_size: int | None = None) -> None:
        self.vocab_size = len(data.vocab)
        self.seed, self.batch_size = seed, batch_size
        self.layer = build_layer(cell.build, config, cell.native_variants)
        self.features = config.hidden_size * (2 if config.bidirectional else 1)
        self.head = LinearHead(self.features, self.vocab_size)
        rng = np.random.default_rng(seed)
        _uniform_fill(self.layer.params.values(), 1 / math.sqrt(config.hidden_size), rng)
        _uniform_fill(self.head.params.values(), 1 / math.sqrt(self.features), rng)
        self.predictor = NumpyPredictor(self.layer, self.head, self.features, self.vocab_size)
        self.names = list(self.params)
        self.optimizer = Adam(list(self.params.values()), lr)
        self.param_count = sum(p.size for p in self.params.values())
        self.data = {"train": (np.asarray(data.x_train), np.asarray(data.y_train))}
        if data.x_valid is not None:
            self.data["valid"] = (np.asarray(data.x_valid), np.asarray(data.y_valid))
        self._full_batches: dict[str, Batch] = {}

    def _named(self, attribute: str) -> dict[str, np.ndarray]:
        return {prefix + name: value for prefix, part in ((LAYER_PREFIX, self.layer), (HEAD_PREFIX, self.head))
                for name, value in getattr(part, attribute).items()}

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Every trained array, named as the torch backend's model state dict names it."""
        return self._named("params")

    def _grads(self) -> list[np.ndarray]:
        grads = self._named("grads")  # read again each step: a cell may rebind its grads
        return [grads[name] for name in self.names]

    def _whole(self, split: str) -> Batch:
        """The whole split as one batch, built once and kept: full-batch training reuses it every epoch."""
        if split not in self._full_batches:
            self._full_batches[split] = Batch(*self.data[split], self.vocab_size)
        return self._full_batches[split]

    def _rows(self, split: str) -> int:
        return len(self.data[split][0])

    def _batches(self, split: str, selections: Iterable[np.ndarray | slice]) -> Iterator[Batch]:
        x, y = self.data[split]
        for rows in selections:
            yield Batch(x[rows], y[rows], self.vocab_size)

    def batches(self, epoch: int) -> Iterable[Batch]:
        rows = self._rows("train")
        if is_full_batch(rows, self.batch_size):
            return (self._whole("train"),)
        return self._batches("train", shuffled_batches(rows, self.batch_size, self.seed, epoch))

    def _logits(self, batch: Batch) -> tuple[np.ndarray, tuple[int, ...]]:
        return self.predictor.forward(batch.x)

    def train_step(self, batch: Batch) -> StepStats:
        logits, (samples, steps, features) = self._logits(batch)
        loss, correct, d_logits = score(logits, batch)
        d_logits[batch.targets, batch.positions] -= 1.0  # softmax - one_hot(target), ...
        d_logits *= batch.weights  # ... averaged over counted targets, zero for ignored ones
        d_features = self.head.backward(d_logits).reshape(steps, samples, features)
        self.layer.backward(d_features.transpose(1, 0, 2))
        self.optimizer.step(self._grads())
        return StepStats(loss, correct, batch.counted)

    def evaluate(self, split: str) -> EvalStats | None:
        if split not in self.data:
            return None
        loss_sum = correct = counted = 0
        rows = self._rows(split)
        whole = is_full_batch(rows, self.batch_size)
        for batch in (self._whole(split),) if whole else self._batches(split, chunks(rows, self.batch_size)):
            loss, right, _ = score(self._logits(batch)[0], batch)
            loss_sum += loss * batch.counted
            correct += right
            counted += batch.counted
        return EvalStats(loss_sum / max(counted, 1), correct / max(counted, 1))

    def infer(self, batch: Batch) -> int:
        self._logits(batch)
        samples, steps = batch.x.shape[:2]
        return samples * steps

    def synchronize(self) -> None:
        """Nothing is queued: NumPy computes eagerly on the CPU."""

    def logits(self, codes: Any) -> np.ndarray:
        return self.predictor.logits(codes)

    def state(self) -> dict[str, np.ndarray]:
        return {name: value.copy() for name, value in self.params.items()}

    def footprint(self, batch: Batch) -> Footprint:
        params = list(self.params.values())
        self._logits(batch)  # what the layer and head keep is what the last forward left
        return Footprint(sum(p.nbytes for p in params),
                         self.optimizer.exp_avg.nbytes + self.optimizer.exp_avg_sq.nbytes,
                         kept_array_bytes((self.layer, self.head), [*params, *self._named("grads").values()]))


def open_session(cell: CellSpec, config: CellConfig, data: TaskData, lr: float, device: str, seed: int,
                 batch_size: int | None = None) -> NumpySession:
    if device not in BACKEND_DEVICES["numpy"]:  # planning skips such rows; this guards direct callers
        raise BenchInputError(f"backend 'numpy' runs on {', '.join(BACKEND_DEVICES['numpy'])} only, not {device}")
    return NumpySession(cell, config, data, lr, seed, batch_size)


def restore(cell: CellSpec, config: CellConfig, vocab_size: int, state: dict[str, Any]) -> NumpyPredictor:
    """The trained model of a session's `state()`, its arrays copied into a freshly built layer and head."""
    layer = build_layer(cell.build, config, cell.native_variants)
    features = config.hidden_size * (2 if config.bidirectional else 1)
    head = LinearHead(features, vocab_size)
    for prefix, part in ((LAYER_PREFIX, layer), (HEAD_PREFIX, head)):
        for name, value in part.params.items():
            value[...] = state[prefix + name]
    return NumpyPredictor(layer, head, features, vocab_size)
