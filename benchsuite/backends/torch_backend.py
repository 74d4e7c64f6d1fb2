"""The torch backend: the cell, a linear head, cross-entropy and Adam; full batch as in the notebook, or mini-batches.

Splits live on the device as compact integer codes; one-hot inputs are built per batch, so memory grows
with the batch and not with the corpus.
"""
from __future__ import annotations

from contextlib import contextmanager

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .batching import chunks, is_full_batch, shuffled_batches
from ..specs import CellConfig, CellSpec, TaskData
from . import EvalStats, Footprint, StepStats
from .torch_variants import build_layer

IGNORED = -100  # cross_entropy's ignore_index; argmax never equals it, so accuracy needs no mask


class CharModel(nn.Module):
    """A recurrent layer followed by a linear head over the vocabulary at every step."""

    def __init__(self, layer: nn.Module, features: int, vocab_size: int) -> None:
        super().__init__()
        self.layer = layer
        self.head = nn.Linear(features, vocab_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, _ = self.layer(x)
        return self.head(output)


def build_model(cell: CellSpec, config: CellConfig, vocab_size: int) -> CharModel:
    """The cell's layer (composed into the variant where needed) under a linear head."""
    layer = build_layer(cell.build, config, cell.native_variants)
    return CharModel(layer, config.hidden_size * (2 if config.bidirectional else 1), vocab_size)


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

    def __init__(self, model: CharModel, vocab_size: int, device: torch.device) -> None:
        self.model, self.vocab_size, self.device = model, vocab_size, device

    @torch.no_grad()
    def logits(self, codes: Any) -> np.ndarray:
        x = F.one_hot(torch.as_tensor(np.asarray(codes), device=self.device).long(), self.vocab_size).float()
        was_training = self.model.training
        self.model.eval()
        try:
            return self.model(x).cpu().numpy()
        finally:
            self.model.train(was_training)


@dataclass(frozen=True)
class Batch:
    """Rows ready for the model: one-hot inputs, targets with ignored ones marked, how many targets count."""

    x: torch.Tensor
    y: torch.Tensor
    counted: int


class Split:
    """One split moved to the device once, as the integer codes the task gave (no one-hot yet)."""

    def __init__(self, x: Any, y: Any, vocab_size: int, device: torch.device) -> None:
        y = np.asarray(y)
        self.vocab_size = vocab_size
        self.device = device
        self.x = torch.as_tensor(np.asarray(x)).to(device)
        self.y = torch.as_tensor(y).to(device)
        self.rows = len(y)
        self.row_counted = (y >= 0).sum(axis=1)  # on the host, so a batch's count needs no device sync
        self.counted = int(self.row_counted.sum())

    def batch(self, rows: np.ndarray | slice) -> Batch:
        """The one-hot batch of `rows` (indices or a slice)."""
        index = rows if isinstance(rows, slice) else torch.as_tensor(rows, device=self.device)
        y = self.y[index].long()
        return Batch(F.one_hot(self.x[index].long(), self.vocab_size).float(),
                     torch.where(y < 0, IGNORED, y), int(self.row_counted[rows].sum()))

    @cached_property
    def whole(self) -> Batch:
        """The split as one batch, built once: full-batch training reuses it every epoch."""
        return self.batch(slice(None))


class TorchSession:
    """A char model for one cell, task, seed and device (see `benchsuite.backends.Session`)."""

    def __init__(self, cell: CellSpec, config: CellConfig, data: TaskData, lr: float, device: str, seed: int,
                 batch_size: int | None = None) -> None:
        torch.manual_seed(seed)
        self.seed = seed
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.vocab_size = len(data.vocab)
        self.model = build_model(cell, config, self.vocab_size).to(self.device)
        self.predictor = TorchPredictor(self.model, self.vocab_size, self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.param_count = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        self.splits = {"train": Split(data.x_train, data.y_train, self.vocab_size, self.device)}
        if data.x_valid is not None:
            self.splits["valid"] = Split(data.x_valid, data.y_valid, self.vocab_size, self.device)

    def batches(self, epoch: int) -> Iterable[Batch]:
        train = self.splits["train"]
        if is_full_batch(train.rows, self.batch_size):
            return (train.whole,)  # as in the notebook
        return (train.batch(rows) for rows in shuffled_batches(train.rows, self.batch_size, self.seed, epoch))

    def _eval_batches(self, split: Split) -> Iterator[Batch]:
        if is_full_batch(split.rows, self.batch_size):
            yield split.whole
        else:
            yield from (split.batch(rows) for rows in chunks(split.rows, self.batch_size))

    def _loss(self, logits: torch.Tensor, batch: Batch, reduction: str) -> torch.Tensor:
        return F.cross_entropy(logits.reshape(-1, self.vocab_size), batch.y.reshape(-1),
                               ignore_index=IGNORED, reduction=reduction)

    def train_step(self, batch: Batch) -> StepStats:
        self.optimizer.zero_grad()
        logits = self.model(batch.x)
        # The mean over counted targets; a batch with nothing to predict takes the sum, 0, where the mean is NaN.
        loss = self._loss(logits, batch, "mean" if batch.counted else "sum")
        loss.backward()
        self.optimizer.step()
        loss_value, correct = self._read(loss, logits.detach(), batch)
        return StepStats(loss_value, correct, batch.counted)

    def _read(self, loss: torch.Tensor, logits: torch.Tensor, batch: Batch) -> tuple[float, int]:
        """The loss and the count of right predictions as Python numbers, at the least cost per device."""
        if self.device.type == "cpu":  # on CPU numpy's argmax costs a third of torch's small-op dispatch
            return loss.item(), int((logits.numpy().argmax(-1) == batch.y.numpy()).sum())
        correct = (logits.argmax(-1) == batch.y).sum()
        loss_value, correct_value = torch.stack([loss.detach(), correct.to(loss.dtype)]).tolist()  # one device sync
        return loss_value, int(correct_value)

    @contextmanager
    def _eval_mode(self) -> Iterator[None]:
        """Evaluation mode for the block; training mode is the resting state, so train_step need not set it."""
        self.model.eval()
        try:
            yield
        finally:
            self.model.train()

    @torch.no_grad()
    def evaluate(self, split: str) -> EvalStats | None:
        if split not in self.splits:
            return None
        data = self.splits[split]
        loss_sum = correct = 0.0
        with self._eval_mode():
            for batch in self._eval_batches(data):  # piece by piece, so a big split never needs one huge one-hot
                logits = self.model(batch.x)
                loss, right = self._read(self._loss(logits, batch, "sum"), logits, batch)
                loss_sum += loss
                correct += right
        counted = max(data.counted, 1)
        return EvalStats(loss_sum / counted, correct / counted)

    @torch.no_grad()
    def infer(self, batch: Batch) -> int:
        with self._eval_mode():
            self.model(batch.x)
        return batch.x.shape[0] * batch.x.shape[1]

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def logits(self, codes: Any) -> np.ndarray:
        return self.predictor.logits(codes)

    def state(self) -> dict[str, np.ndarray]:
        return {name: tensor.detach().cpu().numpy().copy() for name, tensor in self.model.state_dict().items()}

    def footprint(self, batch: Batch) -> Footprint:
        parameters = list(self.model.parameters())
        optimizer_state = [value for state in self.optimizer.state.values() for value in state.values()
                           if isinstance(value, torch.Tensor)]

        def forward_and_loss() -> None:
            self._loss(self.model(batch.x), batch, "sum")

        return Footprint(sum(p.numel() * p.element_size() for p in parameters),
                         sum(t.numel() * t.element_size() for t in optimizer_state),
                         saved_tensor_bytes(forward_and_loss, parameters))


def open_session(cell: CellSpec, config: CellConfig, data: TaskData, lr: float, device: str, seed: int,
                 batch_size: int | None = None) -> TorchSession:
    return TorchSession(cell, config, data, lr, device, seed, batch_size)


def restore(cell: CellSpec, config: CellConfig, vocab_size: int, state: dict[str, Any]) -> TorchPredictor:
    """The trained model of a session's `state()` (numpy arrays or tensors), on the CPU."""
    model = build_model(cell, config, vocab_size)
    model.load_state_dict({name: torch.as_tensor(np.asarray(value)) for name, value in state.items()})
    return TorchPredictor(model, vocab_size, torch.device("cpu"))
