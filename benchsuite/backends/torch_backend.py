"""The torch backend: a torch model (its backbone's), cross-entropy and Adam; full batch as in the notebook, or
mini-batches.

Optimizer settings: weight decay is decoupled (AdamW's, in a parameter group of the matrices only; 0 gives plain
Adam), and clipping rescales all gradients together when their norm exceeds `clip` (torch's clip_grad_norm_),
before each update. The update is the backend's own `Adam`, bit-identical to torch.optim's Adam and AdamW, since
building any torch.optim optimizer imports torch._dynamo.

Precision: bf16 and fp16 run the forward pass and the loss under autocast (weights, gradients and Adam stay fp32);
fp16 scales the loss (GradScaler) so small gradients survive. `compile` trains a torch.compile of the model, compiled
when the session opens (a forward and backward per batch shape, no update), so compiling is never a step's time.

Splits live on the device as compact integer codes; the model's inputs (one-hot for `stack`) are encoded per
batch, so memory grows with the batch and not with the corpus.
"""
from __future__ import annotations

import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..layers.torch_layers import count_parameters
from ..specs import SPLITS, TaskData
from . import (
    ADAM_BETAS,
    ADAM_EPS,
    EvalStats,
    Footprint,
    HostStepTimer,
    StepStats,
    StepTimer,
    TrainingSettings,
    takes_weight_decay,
)
from .batching import chunks, fresh_batches, is_full_batch, shuffled_batches, steps_per_epoch

IGNORED = -100  # cross_entropy's ignore_index; argmax never equals it, so accuracy needs no mask
AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class CudaStepTimer:
    """Steps timed by CUDA events recorded on the stream at each end: the GPU's time for the step, read after
    training with one sync rather than a sync per step."""

    def __init__(self) -> None:
        self._events: list[tuple[torch.cuda.Event, torch.cuda.Event]] = []
        self._start: torch.cuda.Event | None = None

    def start(self) -> None:
        self._start = torch.cuda.Event(enable_timing=True)
        self._start.record()

    def stop(self) -> None:
        end = torch.cuda.Event(enable_timing=True)
        end.record()
        self._events.append((self._start, end))

    def seconds(self) -> list[float]:
        torch.cuda.synchronize()
        return [start.elapsed_time(end) / 1e3 for start, end in self._events]  # elapsed_time is in ms


def saved_tensor_bytes(step: Callable[[], object], exclude: Iterable[torch.Tensor] = ()) -> int:
    """Bytes of the tensors autograd saves for backward while `step` runs, each storage counted once (views of
    one tensor share it); storages of `exclude` (the parameters) are left out."""
    excluded = {tensor.untyped_storage().data_ptr() for tensor in exclude}
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in excluded:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        step()
    return sum(storages.values())


class TorchPredictor:
    """A char model scoring the next character (see `benchsuite.backends.Predictor`)."""

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        self.model, self.device = model, device

    @torch.no_grad()
    def logits(self, codes: Any) -> np.ndarray:
        x = self.model.encode(torch.as_tensor(np.asarray(codes), device=self.device))
        was_training = self.model.training
        self.model.eval()
        try:
            return self.model(x).cpu().numpy()
        finally:
            self.model.train(was_training)


@dataclass(frozen=True)
class Batch:
    """Rows ready for the model: its encoded inputs, targets with ignored ones marked, how many targets count, and
    for a model that scores only some positions, the mask of those that count (None: every position is scored)."""

    x: torch.Tensor
    y: torch.Tensor
    counted: int
    scored: torch.Tensor | None = None

    @cached_property
    def y_numpy(self) -> np.ndarray:
        """The targets as numpy (a view, CPU only), made once per batch: the full batch is reused every epoch."""
        return self.y.numpy()

    @cached_property
    def scored_targets(self) -> torch.Tensor:
        """The targets that count, flat and in the order of the model's logits (those of the scored positions
        when the batch has a mask), made once per batch like `y_numpy`."""
        return (self.y if self.scored is None else self.y[self.scored]).reshape(-1)


class Split:
    """One split moved to the device once, as the integer codes the task gave (not encoded yet)."""

    def __init__(self, x: Any, y: Any, encode: Callable[[torch.Tensor], torch.Tensor], device: torch.device,
                 select: bool = False) -> None:
        """`select`: batches carry the mask of counted targets, for a model whose head reads only those."""
        y = np.asarray(y)
        self.encode = encode
        self.select = select
        self.device = device
        self.x = torch.as_tensor(np.asarray(x)).to(device)
        self.y = torch.as_tensor(y).to(device)
        self.rows = len(y)
        self.row_counted = (y >= 0).sum(axis=1)  # on the host, so a batch's count needs no device sync
        self.counted = int(self.row_counted.sum())

    def batch(self, rows: np.ndarray | slice) -> Batch:
        """The encoded batch of `rows` (indices or a slice)."""
        index = rows if isinstance(rows, slice) else torch.as_tensor(rows, device=self.device)
        y = self.y[index].long()
        return Batch(self.encode(self.x[index]), torch.where(y < 0, IGNORED, y), int(self.row_counted[rows].sum()),
                     y >= 0 if self.select else None)

    @cached_property
    def whole(self) -> Batch:
        """The split as one batch, built once: full-batch training reuses it every epoch."""
        return self.batch(slice(None))


class Adam:
    """torch.optim.Adam's update as torch runs it on CPU (its single-tensor form; no amsgrad, maximize or
    capturable), with AdamW's decoupled weight decay in a group whose `weight_decay` is not 0: the parameters come
    out bit-identical to torch.optim's. Its own class because torch.optim's first optimizer imports torch._dynamo
    (1.3-1.5 s on a quiet machine, a wait in every run) and its step wraps the update in hooks and profiler records.

    It answers what the session, the footprint and GradScaler (`unscale_`, `step`) ask of an optimizer:
    `param_groups` (dicts with "params", "lr", "weight_decay"; the lr schedule writes "lr"), `state` (per
    parameter: exp_avg, exp_avg_sq and the step count, a Python int) and `step()`. A parameter without a gradient
    is skipped, its step count included, as torch.optim skips it. Each operation is one foreach call over a group's
    parameters: on CPU, a loop in C++ over the per-tensor kernels torch.optim calls one by one from Python (bit for
    bit the same, in 0.3-0.4x its step time on apple's and ship's lstm); on CUDA, the foreach kernels torch.optim
    itself defaults to there."""

    def __init__(self, groups: list[dict[str, Any]], lr: float, betas: tuple[float, float] = ADAM_BETAS,
                 eps: float = ADAM_EPS) -> None:
        self.param_groups = [{"lr": lr, "weight_decay": 0.0, **group, "params": list(group["params"])}
                             for group in groups]
        self.betas, self.eps = betas, eps
        self.state: dict[torch.Tensor, dict[str, Any]] = {}

    def _state(self, parameter: torch.Tensor) -> dict[str, Any]:
        state = self.state.get(parameter)
        if state is None:  # both moments of a complex parameter stay complex, updated through real views
            state = self.state[parameter] = {
                "step": 0, "exp_avg": torch.zeros_like(parameter, memory_format=torch.preserve_format),
                "exp_avg_sq": torch.zeros_like(parameter, memory_format=torch.preserve_format)}
        return state

    @torch.no_grad()
    def step(self) -> None:
        beta1, beta2 = self.betas
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            states = [self._state(p) for p in params]
            for state in states:
                state["step"] += 1
            lr, weight_decay = group["lr"], group["weight_decay"]
            if weight_decay:
                torch._foreach_mul_(params, 1 - lr * weight_decay)
            grads = [_real(p.grad) for p in params]
            exp_avgs = [_real(state["exp_avg"]) for state in states]
            exp_avg_sqs = [_real(state["exp_avg_sq"]) for state in states]
            params = [_real(p) for p in params]
            torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
            torch._foreach_mul_(exp_avg_sqs, beta2)
            torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
            denoms = torch._foreach_sqrt(exp_avg_sqs)
            torch._foreach_div_(denoms, [(1 - beta2 ** s["step"]) ** 0.5 for s in states])
            torch._foreach_add_(denoms, self.eps)
            torch._foreach_addcdiv_(params, exp_avgs, denoms, [-lr / (1 - beta1 ** s["step"]) for s in states])

    def zero_grad(self) -> None:
        """Gradients dropped (not zeroed), as torch.optim's zero_grad does by default."""
        for group in self.param_groups:
            for parameter in group["params"]:
                parameter.grad = None


def _real(tensor: torch.Tensor) -> torch.Tensor:
    """A complex tensor as a real view (its last axis holding real and imaginary parts), as torch.optim updates it."""
    return torch.view_as_real(tensor) if tensor.is_complex() else tensor


def optimizer_for(model: nn.Module, lr: float, weight_decay: float) -> Adam:
    """Adam over the model's parameters; with weight decay, AdamW's, whose decay reaches only the parameters that
    take it (`takes_weight_decay`), the others in a second parameter group without decay."""
    parameters = list(model.parameters())
    if not weight_decay:
        return Adam([{"params": parameters}], lr)
    groups = [{"params": [p for p in parameters if takes_weight_decay(p)], "weight_decay": weight_decay},
              {"params": [p for p in parameters if not takes_weight_decay(p)], "weight_decay": 0.0}]
    return Adam([group for group in groups if group["params"]], lr)


class TorchSession:
    """A torch model trained on one task's data on one device (see `benchsuite.backends.Session`)."""

    def __init__(self, model: nn.Module, data: TaskData, settings: TrainingSettings) -> None:
        self.seed = settings.seed
        self.batch_size = settings.batch_size
        self.device = torch.device(settings.device)
        self.vocab_size = len(data.vocab)
        self.model = model.to(self.device)
        self.predictor = TorchPredictor(self.model, self.device)
        self.clip = settings.clip
        self.lr = settings.lr
        self.sample_batch = data.sample_batch if settings.steps is not None else None
        self.steps = settings.steps
        self.optimizer = optimizer_for(self.model, settings.lr, settings.weight_decay)
        self.parameters = list(self.model.parameters())
        self.param_count = count_parameters(self.model)
        self.mixer_param_count = self.model.mixer_parameter_count()
        # A model that can score only the counted positions is asked to (the head over a large vocabulary at
        # every step is most of a recall model's memory); figures are the same.
        self.select = getattr(self.model, "scores_positions", False)
        self.splits = {split: Split(getattr(data, f"x_{split}"), getattr(data, f"y_{split}"), self.model.encode,
                                    self.device, self.select)
                       for split in SPLITS if getattr(data, f"x_{split}") is not None}
        dtype = AUTOCAST_DTYPES[settings.precision]
        self.autocast = (torch.autocast(self.device.type, dtype) if dtype is not None else nullcontext())
        # fp16's narrow range loses small gradients without loss scaling (fp16 runs on CUDA only)
        self.scaler = torch.amp.GradScaler(self.device.type) if settings.precision == "fp16" else None
        self.forward = self.model  # what trains and evaluates: the model, or its compiled form
        self.compile_seconds: float | None = None
        if settings.compile:
            self.forward = torch.compile(self.model)
            self.compile_seconds = self._compile()

    def _compile(self) -> float:
        """Seconds to compile the model for every batch shape of an epoch (forward and backward, no update), so
        steps never pay for compiling; the gradients it leaves are cleared."""
        started = time.perf_counter()
        shapes = set()
        for batch in self.batches(1):
            if batch.x.shape in shapes:
                continue
            shapes.add(batch.x.shape)
            with self.autocast:
                loss = self._loss(self._forward(batch), batch, "sum")
            loss.backward()
        self.optimizer.zero_grad()
        self.synchronize()
        return time.perf_counter() - started

    def batches(self, epoch: int) -> Iterable[Batch]:
        train = self.splits["train"]
        if self.sample_batch is not None:
            return (Split(x, y, self.model.encode, self.device, self.select).whole
                    for x, y in fresh_batches(self.sample_batch, self.steps, self.batch_size or train.rows, self.seed,
                                              epoch))
        if is_full_batch(train.rows, self.batch_size):
            return (train.whole,)  # as in the notebook
        return (train.batch(rows) for rows in shuffled_batches(train.rows, self.batch_size, self.seed, epoch))

    def steps_per_epoch(self) -> int:
        if self.sample_batch is not None:
            return self.steps
        return steps_per_epoch(self.splits["train"].rows, self.batch_size)

    def scale_lr(self, scale: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr * scale

    def _eval_batches(self, split: Split) -> Iterator[Batch]:
        if is_full_batch(split.rows, self.batch_size):
            yield split.whole
        else:
            yield from (split.batch(rows) for rows in chunks(split.rows, self.batch_size))

    def _forward(self, batch: Batch) -> torch.Tensor:
        """Logits for the batch: (batch, time, vocab), or (scored positions, vocab) when the batch has a mask."""
        return self.forward(batch.x) if batch.scored is None else self.forward(batch.x, batch.scored)

    def _loss(self, logits: torch.Tensor, batch: Batch, reduction: str) -> torch.Tensor:
        return F.cross_entropy(logits.reshape(-1, self.vocab_size), batch.scored_targets, ignore_index=IGNORED,
                               reduction=reduction)

    def train_step(self, batch: Batch) -> StepStats:
        self.optimizer.zero_grad()
        with self.autocast:
            logits = self._forward(batch)
            # The mean over counted targets; a batch with nothing to predict takes the sum, 0, where the mean is NaN.
            loss = self._loss(logits, batch, "mean" if batch.counted else "sum")
        if self.scaler is None:
            loss.backward()
            self._clip()
            self.optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)  # clipping sees the true gradients
            self._clip()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        if batch.scored is None and self.device.type == "cpu" and logits.dtype == torch.float32:
            # A step needs only the total right, which numpy counts in one call; the per-row counts `_read`
            # makes for evaluation, and the dtype casts, cost a sub-millisecond step a few percent.
            correct = np.count_nonzero(logits.detach().numpy().argmax(-1) == batch.y_numpy)
            return StepStats(loss.item(), int(correct), batch.counted)
        # autocast's bf16/fp16 logits and loss read in fp32; fp32 ones are returned as they are
        loss_value, row_correct = self._read(loss.detach().float(), logits.detach().float(), batch)
        return StepStats(loss_value, int(row_correct.sum()), batch.counted)

    def _clip(self) -> None:
        if self.clip is not None:
            nn.utils.clip_grad_norm_(self.parameters, self.clip)

    def step_timer(self) -> StepTimer:
        return CudaStepTimer() if self.device.type == "cuda" else HostStepTimer()

    def _read(self, loss: torch.Tensor, logits: torch.Tensor, batch: Batch) -> tuple[float, np.ndarray]:
        """The loss as a Python number and each row's count of right predictions, at the least cost per device."""
        if batch.scored is not None:  # logits of scored positions only: right ones counted back into their rows
            rows = torch.nonzero(batch.scored)[:, 0]
            hits = (logits.argmax(-1) == batch.scored_targets).to(loss.dtype)
            row_correct = torch.zeros(batch.y.shape[0], dtype=loss.dtype, device=hits.device).index_add_(0, rows, hits)
        elif self.device.type == "cpu":  # on CPU numpy's argmax costs a third of torch's small-op dispatch
            return loss.item(), (logits.numpy().argmax(-1) == batch.y_numpy).sum(axis=1)
        else:
            row_correct = (logits.argmax(-1) == batch.y).sum(dim=1)
        values = torch.cat([loss.detach().view(1), row_correct.to(loss.dtype)]).cpu().numpy()  # one device sync
        return float(values[0]), values[1:].astype(np.int64)

    @contextmanager
    def _eval_mode(self) -> Iterator[None]:
        """Evaluation mode for the block; training mode is the resting state, so train_step need not set it."""
        self.model.eval()
        try:
            yield
        finally:
            self.model.train()

    def evaluate(self, split: str) -> EvalStats | None:
        if split not in self.splits:  # asked after every epoch: answered before no_grad's few microseconds
            return None
        data = self.splits[split]
        loss_sum, rights = 0.0, []
        with torch.no_grad(), self._eval_mode():
            for batch in self._eval_batches(data):  # piece by piece, so a big split never needs one huge one-hot
                with self.autocast:
                    logits = self._forward(batch)
                    loss = self._loss(logits, batch, "sum")
                loss, row_correct = self._read(loss.float(), logits.float(), batch)
                loss_sum += loss
                rights.append(row_correct)
        row_correct = np.concatenate(rights)
        counted = max(data.counted, 1)
        return EvalStats(loss_sum / counted, int(row_correct.sum()) / counted, row_correct, data.row_counted)

    @torch.no_grad()
    def state_size(self) -> int | None:
        with self._eval_mode():
            finals = self.model.cell_states(self.splits["train"].batch(slice(0, 1)).x)
        if any(final is None for final in finals):  # a cell without a usable state (the contract allows it)
            return None
        return sum(part[:, 0].numel() for final in finals
                   for part in (final if isinstance(final, tuple) else (final,)))

    @torch.no_grad()
    def infer(self, batch: Batch) -> int:
        with self._eval_mode(), self.autocast:
            self.forward(batch.x)
        return batch.x.shape[0] * batch.x.shape[1]

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def logits(self, codes: Any) -> np.ndarray:
        return self.predictor.logits(codes)

    def state(self) -> dict[str, np.ndarray]:
        return {name: tensor.detach().cpu().numpy().copy() for name, tensor in self.model.state_dict().items()}

    def footprint(self, batch: Batch) -> Footprint:
        optimizer_state = [value for state in self.optimizer.state.values() for value in state.values()
                           if isinstance(value, torch.Tensor)]

        def forward_and_loss() -> None:
            self._loss(self._forward(batch), batch, "sum")

        return Footprint(sum(p.numel() * p.element_size() for p in self.parameters),
                         sum(t.numel() * t.element_size() for t in optimizer_state),
                         saved_tensor_bytes(forward_and_loss, self.parameters))


def open_session(model: nn.Module, data: TaskData, settings: TrainingSettings) -> TorchSession:
    return TorchSession(model, data, settings)


def restore(model: nn.Module, state: dict[str, Any]) -> TorchPredictor:
    """`model` (a torch backbone's) loaded with a session's `state()` (numpy arrays or tensors), on the CPU."""
    model.load_state_dict({name: torch.as_tensor(np.asarray(value)) for name, value in state.items()})
    return TorchPredictor(model, torch.device("cpu"))
