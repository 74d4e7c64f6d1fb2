"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"), imported only when a run builds them.

Both are h_t = a_t * h_{t-1} + b_t with a_t, b_t computed from x_t alone, so training evaluates every step at
once with the log-space scan. The paper's activation g(x) = x + 0.5 (x >= 0), sigmoid(x) (x < 0) keeps the
candidate, and so every state, positive: that is what lets the scan work with logarithms. `mode = "sequential"`
evaluates the same weights step by step in linear space instead, an independent computation for checking.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch
import torch.nn.functional as F
from torch import nn

from .scan import Mode, log_space_scan


def g(x: torch.Tensor) -> torch.Tensor:
    """The paper's positive activation: x + 0.5 for x >= 0, sigmoid(x) below (continuous at 0)."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: torch.Tensor) -> torch.Tensor:
    """log g(x), computed without forming g (both branches stay finite, so torch.where's gradient is clean)."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), F.logsigmoid(x))


class MinRNN(nn.Module, ABC):
    """One unidirectional layer h_t = a_t * h_{t-1} + b_t, h_0 = 0, batch first, returning (output, h_n).

    Subclasses give a_t and b_t in linear space (`coefficients`) and as logarithms (`log_coefficients`).
    """

    def __init__(self, input_size: int, hidden_size: int, gates: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.mode: Mode = "scan"
        # One linear map of the input per gate plus the candidate, fused into one matrix product.
        self.linear = nn.Linear(input_size, hidden_size * (gates + 1))

    @abstractmethod
    def coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """a_t and b_t for every step, each (batch, time, hidden)."""

    @abstractmethod
    def log_coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """log a_t and log b_t, computed from the pre-activations without taking the log of a rounded value."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.mode == "scan":
            output = torch.exp(log_space_scan(*self.log_coefficients(x)))
        else:
            a, b = self.coefficients(x)
            h = b.new_zeros(b.shape[0], self.hidden_size)
            steps = []
            for t in range(b.shape[1]):
                h = a[:, t] * h + b[:, t]
                steps.append(h)
            output = torch.stack(steps, dim=1)
        return output, output[:, -1].unsqueeze(0)


class MinGRU(MinRNN):
    """minGRU: h_t = (1 - z_t) h_{t-1} + z_t g(h~_t), with z_t = sigmoid(W_z x_t + b_z), h~_t = W_h x_t + b_h."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size, gates=1)

    def coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, candidate = self.linear(x).chunk(2, dim=-1)
        z = torch.sigmoid(k)
        return 1 - z, z * g(candidate)

    def log_coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, candidate = self.linear(x).chunk(2, dim=-1)
        # log z = logsigmoid(k), exact for any k; log(1 - z) = log z - k, as sigmoid(k) / sigmoid(-k) = e^k.
        log_z = F.logsigmoid(k)
        return log_z - k, log_z + log_g(candidate)


class MinLSTM(MinRNN):
    """minLSTM: h_t = f'_t h_{t-1} + i'_t g(h~_t), forget and input gates sigmoid(W x_t + b) normalised to sum to 1.

    f' = f / (f + i) and i' = i / (f + i) make the recurrence independent of the time scale, as in the paper.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size, gates=2)

    def coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k_forget, k_input, candidate = self.linear(x).chunk(3, dim=-1)
        forget, input_ = torch.sigmoid(k_forget), torch.sigmoid(k_input)
        total = forget + input_
        return forget / total, input_ / total * g(candidate)

    def log_coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k_forget, k_input, candidate = self.linear(x).chunk(3, dim=-1)
        # d = log(i / f); then log f' = log(1 / (1 + e^d)) = logsigmoid(-d) and log i' = logsigmoid(d).
        d = F.logsigmoid(k_input) - F.logsigmoid(k_forget)
        return F.logsigmoid(-d), F.logsigmoid(d) + log_g(candidate)
