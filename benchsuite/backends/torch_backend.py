"""The torch backend: one-hot inputs, the cell, a linear head, cross-entropy and Adam, full-batch as in the notebook."""
from __future__ import annotations

from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ..specs import CellConfig, CellSpec, TaskData
from . import EvalStats, StepStats
from .torch_variants import build_layer

DEVICES = ("cpu", "cuda")
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


class Split:
    """One split moved to the device once: one-hot inputs and targets with ignored ones marked."""

    def __init__(self, x: Any, y: Any, vocab_size: int, device: torch.device) -> None:
        x = torch.as_tensor(x, dtype=torch.long)
        y = torch.as_tensor(y, dtype=torch.long)
        self.x = F.one_hot(x, vocab_size).float().to(device)
        self.y = torch.where(y < 0, IGNORED, y).to(device)
        self.y_flat = self.y.reshape(-1)
        self.y_numpy = self.y.numpy() if device.type == "cpu" else None
        self.counted = int((y >= 0).sum())


class TorchSession:
    """A char model for one cell, task, seed and device (see `benchsuite.backends.Session`)."""

    def __init__(self, cell: CellSpec, config: CellConfig, data: TaskData, lr: float, device: str, seed: int) -> None:
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.vocab_size = len(data.vocab)
        directions = 2 if config.bidirectional else 1
        layer = build_layer(cell.build, config, cell.native_variants)
        self.model = CharModel(layer, config.hidden_size * directions, self.vocab_size).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.param_count = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        self.splits = {"train": Split(data.x_train, data.y_train, self.vocab_size, self.device)}
        if data.x_valid is not None:
            self.splits["valid"] = Split(data.x_valid, data.y_valid, self.vocab_size, self.device)

    def batches(self, epoch: int) -> Iterable[Split]:
        return (self.splits["train"],)  # full batch, as in the notebook

    def _loss(self, logits: torch.Tensor, split: Split) -> torch.Tensor:
        return F.cross_entropy(logits.reshape(-1, self.vocab_size), split.y_flat, ignore_index=IGNORED)

    def train_step(self, batch: Split) -> StepStats:
        self.optimizer.zero_grad()
        logits = self.model(batch.x)
        loss = self._loss(logits, batch)
        loss.backward()
        self.optimizer.step()
        loss_value, correct = self._read(loss, logits.detach(), batch)
        return StepStats(loss_value, correct, batch.counted)

    @staticmethod
    def _read(loss: torch.Tensor, logits: torch.Tensor, split: Split) -> tuple[float, int]:
        """The loss and the count of right predictions as Python numbers, at the least cost per device."""
        if split.y_numpy is not None:  # on CPU numpy's argmax costs a third of torch's small-op dispatch
            return loss.item(), int((logits.numpy().argmax(-1) == split.y_numpy).sum())
        correct = (logits.argmax(-1) == split.y).sum()
        loss_value, correct_value = torch.stack([loss.detach(), correct.to(loss.dtype)]).tolist()  # one device sync
        return loss_value, int(correct_value)

    @torch.no_grad()
    def evaluate(self, split: str) -> EvalStats | None:
        if split not in self.splits:
            return None
        data = self.splits[split]
        self.model.eval()
        logits = self.model(data.x)
        self.model.train()  # training mode is the resting state, so train_step need not set it every step
        loss, correct = self._read(self._loss(logits, data), logits, data)
        return EvalStats(loss, correct / max(data.counted, 1))

    @torch.no_grad()
    def infer(self, batch: Split) -> int:
        self.model.eval()
        self.model(batch.x)
        return batch.x.shape[0] * batch.x.shape[1]

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def open_session(cell: CellSpec, config: CellConfig, data: TaskData, lr: float, device: str, seed: int) -> TorchSession:
    return TorchSession(cell, config, data, lr, device, seed)

