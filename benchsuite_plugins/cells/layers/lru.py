"""The Linear Recurrent Unit (Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks for Long Sequences").

Imported only when a run builds the cell. Every parameter is a real tensor (complex ones as separate real and
imaginary parts), so parameter counts are the true number of scalars.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .scan import Mode, linear_scan

# Defaults, documented in the README: the eigenvalue ring |lambda| in [R_MIN, R_MAX] and phases in [0, MAX_PHASE].
# The paper's long-range runs use r_min 0.9; char tasks also need fast-forgetting channels, so the ring is wider.
R_MIN, R_MAX, MAX_PHASE = 0.4, 0.99, 2 * math.pi


class LRU(nn.Module):
    """One unidirectional LRU layer, batch first, returning (output, h_n) as nn.RNN does.

    Recurrence over a complex diagonal state of `state_size` channels:
        x_t = lambda * x_{t-1} + gamma * (B u_t),   lambda = exp(-exp(nu) + i exp(theta)),
    gamma = sqrt(1 - |lambda|^2) at initialisation (then trained, as gamma_log), and a real readout
        y_t = Re(C x_t) + D u_t,
    followed by the paper's GLU, with a skip around it: out_t = y_t + W_o z_t * sigmoid(W_g z_t), z_t = GELU(y_t).
    With `glu=False` (a block backbone's mixer, whose MLP takes the GLU's role) out_t = y_t.
    `mode = "scan"` evaluates the recurrence for all steps at once (the blocked linear scan);
    `mode = "sequential"` steps through time, an independent computation for checking.
    """

    def __init__(self, input_size: int, hidden_size: int, state_size: int | None = None, r_min: float = R_MIN,
                 r_max: float = R_MAX, max_phase: float = MAX_PHASE, glu: bool = True) -> None:
        super().__init__()
        state_size = state_size or hidden_size
        self.mode: Mode = "scan"
        # Ring initialisation: |lambda|^2 uniform between r_min^2 and r_max^2 (|lambda| uniform on the ring's area).
        radius_sq = torch.rand(state_size) * (r_max ** 2 - r_min ** 2) + r_min ** 2
        self.nu_log = nn.Parameter(torch.log(-0.5 * torch.log(radius_sq)))
        self.theta_log = nn.Parameter(torch.log(max_phase * torch.rand(state_size)))
        self.gamma_log = nn.Parameter(0.5 * torch.log(1 - radius_sq))
        self.B_re = nn.Parameter(torch.randn(state_size, input_size) / math.sqrt(2 * input_size))
        self.B_im = nn.Parameter(torch.randn(state_size, input_size) / math.sqrt(2 * input_size))
        self.C_re = nn.Parameter(torch.randn(hidden_size, state_size) / math.sqrt(state_size))
        self.C_im = nn.Parameter(torch.randn(hidden_size, state_size) / math.sqrt(state_size))
        # The paper's D is diagonal (input and output widths equal there); here it maps input_size to hidden_size.
        self.D = nn.Parameter(torch.randn(hidden_size, input_size) / math.sqrt(input_size))
        self.glu = nn.Linear(hidden_size, 2 * hidden_size) if glu else None

    def log_lambda(self) -> torch.Tensor:
        return torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log))

    def _recur(self, drive: torch.Tensor) -> torch.Tensor:
        lam = torch.exp(self.log_lambda())
        if self.mode == "scan":
            return linear_scan(lam, drive)
        state = drive.new_zeros(drive.shape[0], drive.shape[2])
        states = []
        for t in range(drive.shape[1]):
            state = lam * state + drive[:, t]
            states.append(state)
        return torch.stack(states, dim=1)

    def forward(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # B and C act on interleaved (real, imaginary) pairs, so each is one real matrix product and the complex
        # states are views of it, never copies; gamma scales B's rows rather than every drive entry.
        gamma = torch.exp(self.gamma_log)[:, None, None]
        B = (torch.stack([self.B_re, self.B_im], dim=1) * gamma).flatten(0, 1)  # (2 * state, input)
        drive = torch.view_as_complex(F.linear(u, B).unflatten(-1, (-1, 2)))
        states = torch.view_as_real(self._recur(drive)).flatten(-2)
        C = torch.stack([self.C_re, -self.C_im], dim=2).flatten(1)  # Re(C x) = C_re x_re - C_im x_im
        y = torch.addmm(F.linear(u, self.D).flatten(0, 1), states.flatten(0, 1), C.t()).view(*u.shape[:2], -1)
        if self.glu is None:
            output = y
        else:
            values, gates = self.glu(F.gelu(y)).chunk(2, dim=-1)
            output = y + values * torch.sigmoid(gates)
        return output, output[:, -1].unsqueeze(0)
