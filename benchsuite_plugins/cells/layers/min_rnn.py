"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"), imported only when a run builds them.

Both are h_t = a_t * h_{t-1} + b_t with a_t, b_t computed from x_t alone, so training evaluates every step at
once with the linear scan. The paper's activation g(x) = x + 0.5 (x >= 0), sigmoid(x) (x < 0) keeps the candidate,
and so every state, positive. `mode = "sequential"` evaluates the same weights step by step, an independent
computation for checking: its coefficients come from `coefficients` through autograd, the scan's from the cell's
`Coefficients` function, whose derivative is written out (autograd's version of these few element-wise maps
stored and revisited several times more tensors, and took longer than the projection and the scan together).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from .scan import Mode, linear_scan


def g(x: torch.Tensor) -> torch.Tensor:
    """The paper's positive activation: x + 0.5 for x >= 0, sigmoid(x) below (continuous at 0)."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def g_parts(candidate: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """g(h~) and sigmoid(min(h~, 0)), which its slope needs.

    g = max(h~, 0) + sigmoid(min(h~, 0)) gives `g`'s values exactly (sigmoid(0) is 1/2 in floating point) with
    vectorised clamps: torch.where and boolean masks run several times slower than a sigmoid on CPU.
    """
    below = torch.sigmoid(candidate.clamp_max(0))
    return candidate.clamp_min(0).add_(below), below


def g_slope(candidate: torch.Tensor, below: torch.Tensor) -> torch.Tensor:
    """g'(h~): 1 for h~ >= 0 (as autograd gives `g`), sigmoid's slope below; for h~ >= 0, below = 1/2 exactly,
    so below (1 - below) + 3/4 [h~ >= 0] is exactly 1 there."""
    at_or_above = torch.ge(candidate, 0, out=torch.empty_like(below))
    return torch.addcmul(below, below, below, value=-1).add_(at_or_above, alpha=0.75)


class MinGRUCoefficients(torch.autograd.Function):
    """Pre-activations (k, h~) -> a = 1 - z, b = z g(h~), z = sigmoid(k)."""

    @staticmethod
    def forward(ctx, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, candidate = pre.chunk(2, dim=-1)
        z = torch.sigmoid(k)
        keep = 1 - z
        g_candidate, below = g_parts(candidate)
        ctx.save_for_backward(candidate, z, keep, g_candidate, below)
        return keep, z * g_candidate

    @staticmethod
    def backward(ctx, grad_a: torch.Tensor, grad_b: torch.Tensor) -> torch.Tensor:
        candidate, z, keep, g_candidate, below = ctx.saved_tensors
        grad = z.new_empty(*z.shape[:-1], 2 * z.shape[-1])
        grad_k, grad_candidate = grad.chunk(2, dim=-1)
        # dL/dz = g(h~) dL/db - dL/da, and dz/dk = z (1 - z)
        torch.addcmul(-grad_a, grad_b, g_candidate, out=grad_k).mul_(z).mul_(keep)
        torch.mul(grad_b, z, out=grad_candidate).mul_(g_slope(candidate, below))
        return grad


class MinLSTMCoefficients(torch.autograd.Function):
    """Pre-activations (k_f, k_i, h~) -> a = f / (f + i), b = (1 - a) g(h~), f = sigmoid(k_f), i = sigmoid(k_i)."""

    @staticmethod
    def forward(ctx, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k_forget, k_input, candidate = pre.chunk(3, dim=-1)
        forget, input_ = torch.sigmoid(k_forget), torch.sigmoid(k_input)
        keep = forget / (forget + input_)
        take = 1 - keep  # i / (f + i)
        g_candidate, below = g_parts(candidate)
        ctx.save_for_backward(candidate, forget, input_, keep, take, g_candidate, below)
        return keep, take * g_candidate

    @staticmethod
    def backward(ctx, grad_a: torch.Tensor, grad_b: torch.Tensor) -> torch.Tensor:
        candidate, forget, input_, keep, take, g_candidate, below = ctx.saved_tensors
        grad = forget.new_empty(*forget.shape[:-1], 3 * forget.shape[-1])
        grad_forget, grad_input, grad_candidate = grad.chunk(3, dim=-1)
        # b depends on a through take = 1 - a; da/dk_f = a (1 - a) (1 - f) and da/dk_i = -a (1 - a) (1 - i)
        through_a = torch.addcmul(grad_a, grad_b, g_candidate, value=-1).mul_(keep).mul_(take)
        torch.addcmul(through_a, through_a, forget, value=-1, out=grad_forget)
        torch.mul(through_a, input_, out=grad_input).sub_(through_a)
        torch.mul(grad_b, take, out=grad_candidate).mul_(g_slope(candidate, below))
        return grad


class MinRNN(nn.Module, ABC):
    """One unidirectional layer h_t = a_t * h_{t-1} + b_t, h_0 = 0, batch first, returning (output, h_n).

    With `expansion` e != 1 the state has round(e x hidden_size) channels and `out_proj` maps it back to
    hidden_size (the paper's mixer form: e = 6 for selective copying); h_n is then that state, (1, batch,
    round(e x hidden_size)), so state sizes count what the layer carries.
    """

    Coefficients: type[torch.autograd.Function]  # the scan's (a_t, b_t) from the pre-activations

    def __init__(self, input_size: int, hidden_size: int, gates: int, expansion: float = 1.0) -> None:
        super().__init__()
        self.hidden_size = max(1, round(expansion * hidden_size))
        self.mode: Mode = "scan"
        # One linear map of the input per gate plus the candidate, fused into one matrix product.
        self.linear = nn.Linear(input_size, self.hidden_size * (gates + 1))
        self.out_proj = nn.Linear(self.hidden_size, hidden_size) if expansion != 1 else None

    @abstractmethod
    def coefficients(self, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """a_t and b_t for every step, each (batch, time, hidden), from the pre-activations as the paper writes them."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pre = self.linear(x)
        if self.mode == "scan":
            output = linear_scan(*self.Coefficients.apply(pre))
        else:
            a, b = self.coefficients(pre)
            h = b.new_zeros(b.shape[0], self.hidden_size)
            steps = []
            for t in range(b.shape[1]):
                h = a[:, t] * h + b[:, t]
                steps.append(h)
            output = torch.stack(steps, dim=1)
        state = output[:, -1].unsqueeze(0)
        return (output if self.out_proj is None else self.out_proj(output)), state


class MinGRU(MinRNN):
    """minGRU: h_t = (1 - z_t) h_{t-1} + z_t g(h~_t), with z_t = sigmoid(W_z x_t + b_z), h~_t = W_h x_t + b_h."""

    Coefficients = MinGRUCoefficients

    def __init__(self, input_size: int, hidden_size: int, expansion: float = 1.0) -> None:
        super().__init__(input_size, hidden_size, gates=1, expansion=expansion)

    def coefficients(self, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, candidate = pre.chunk(2, dim=-1)
        z = torch.sigmoid(k)
        return 1 - z, z * g(candidate)


class MinLSTM(MinRNN):
    """minLSTM: h_t = f'_t h_{t-1} + i'_t g(h~_t), forget and input gates sigmoid(W x_t + b) normalised to sum to 1.

    f' = f / (f + i) and i' = i / (f + i) make the recurrence independent of the time scale, as in the paper.
    """

    Coefficients = MinLSTMCoefficients

    def __init__(self, input_size: int, hidden_size: int, expansion: float = 1.0) -> None:
        super().__init__(input_size, hidden_size, gates=2, expansion=expansion)

    def coefficients(self, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k_forget, k_input, candidate = pre.chunk(3, dim=-1)
        forget, input_ = torch.sigmoid(k_forget), torch.sigmoid(k_input)
        total = forget + input_
        return forget / total, input_ / total * g(candidate)
