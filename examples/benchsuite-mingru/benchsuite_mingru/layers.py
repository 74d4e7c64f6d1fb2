"""The minGRU layer in torch (imported only when a run builds the cell)."""
from __future__ import annotations

import torch
from torch import nn


class MinGRU(nn.Module):
    """One unidirectional minGRU layer, batch first, returning `(output, h_n)` as `nn.GRU` does.

    h_t = (1 - z_t) * h_{t-1} + z_t * c_t, with gate z_t = sigmoid(W_z x_t + b_z) and candidate
    c_t = W_c x_t + b_c. Neither reads h_{t-1}, so both are computed for all steps at once and only
    the blend runs step by step.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.gate = nn.Linear(input_size, hidden_size)
        self.candidate = nn.Linear(input_size, hidden_size)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gates = torch.sigmoid(self.gate(x))
        candidates = self.candidate(x)
        h = x.new_zeros(x.shape[0], self.hidden_size)
        outputs = []
        for t in range(x.shape[1]):
            h = torch.lerp(h, candidates[:, t], gates[:, t])
            outputs.append(h)
        return torch.stack(outputs, dim=1), h.unsqueeze(0)
