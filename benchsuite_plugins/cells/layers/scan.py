"""Linear recurrences h_t = a_t * h_{t-1} + b_t (h_0 = 0) evaluated in parallel over time.

Two forms, each for the cells that need it:
- `log_space_scan`: positive a_t, b_t given as logarithms (minGRU, minLSTM; Feng et al. 2024), evaluated with
  cumulative sums of log a and `logcumsumexp`, as in the paper;
- `diagonal_scan`: one complex a per channel, constant over time (LRU; Orvieto et al. 2023), evaluated as a
  causal convolution with the kernel a^k.

Both work chunk by chunk. Within a chunk everything runs at once; the chunks are joined by a carry. Bounded chunks
keep float32 exact: a cumulative sum of log coefficients over a whole long sequence grows to hundreds, where a
float32 ulp is already 3e-5 and h inherits that relative error; over one chunk it stays small. The cost per
position does not grow with the length.
"""
from __future__ import annotations

from typing import Literal

import torch

LOG_CHUNK = 64  # steps per log-space chunk: |cumsum log a| stays well below 100 for ordinary gates
DIAGONAL_CHUNK = 32  # steps per convolution block: C*C kernel entries per channel, (T/C)^2 for the carry
# How a cell evaluates its recurrence: all steps at once, or one step at a time (the reference for the tests).
Mode = Literal["scan", "sequential"]


def log_space_scan(log_a: torch.Tensor, log_b: torch.Tensor, chunk: int = LOG_CHUNK) -> torch.Tensor:
    """log h for h_t = a_t h_{t-1} + b_t, h_0 = 0, with a, b > 0 given as logs of shape (batch, time, features).

    Within a chunk, from a zero state: log h_t = A_t + logcumsumexp_s(log b_s - A_s), A_t = sum_{s<=t} log a_s.
    The state that entered the chunk adds A_t + log h_prev (one logaddexp), so chunks are joined by a loop over
    chunks, never over steps. `split` rather than slicing: a slice's gradient is a zero tensor of the whole
    sequence, which would make the backward pass quadratic in the length.
    """
    pieces = []
    carry = None  # log h at the end of the previous chunk
    for piece_a, piece_b in zip(log_a.split(chunk, dim=1), log_b.split(chunk, dim=1)):
        cumulative = piece_a.cumsum(dim=1)
        log_h = cumulative + torch.logcumsumexp(piece_b - cumulative, dim=1)
        if carry is not None:
            log_h = torch.logaddexp(log_h, cumulative + carry)
        pieces.append(log_h)
        carry = log_h[:, -1:]
    return torch.cat(pieces, dim=1)


def _powers(log_a: torch.Tensor, size: int, stride: int) -> torch.Tensor:
    """Lower-triangular kernel K[t, s, n] = a_n^{(t - s) * stride} for t >= s, 0 above the diagonal.

    Only non-negative exponents are formed (|a| <= 1 keeps every entry bounded); the upper triangle is zeroed
    after the exponential so no entry is ever inf.
    """
    steps = torch.arange(size, device=log_a.device)
    lag = steps[:, None] - steps[None, :]
    causal = (lag >= 0).to(log_a.real.dtype)
    exponent = (lag.clamp(min=0) * stride).to(log_a.real.dtype)
    return torch.exp(exponent[..., None] * log_a) * causal[..., None]


def diagonal_scan(log_a: torch.Tensor, b: torch.Tensor, chunk: int = DIAGONAL_CHUNK) -> torch.Tensor:
    """h for h_t = a * h_{t-1} + b_t, h_0 = 0, with one a per channel: log_a (n,), b (batch, time, n).

    The sequence is cut into blocks of `chunk` steps. Within each block h is the convolution of b with a^k
    (one C x C lower-triangular kernel per channel, a batched matrix product); the states at block ends are
    joined by the same convolution over blocks with kernel a^(C k); each step then adds a^(t+1) times the state
    that entered its block. Every power has a non-negative exponent, so nothing overflows for |a| <= 1.
    """
    batch, time, channels = b.shape
    size = min(chunk, time)
    blocks = -(-time // size)
    padded = torch.nn.functional.pad(b, (0, 0, 0, blocks * size - time))  # zeros after the end change nothing
    b_blocks = padded.reshape(batch, blocks, size, channels)
    local = torch.einsum("tsn,bksn->bktn", _powers(log_a, size, 1), b_blocks)
    ends = torch.einsum("kjn,bjn->bkn", _powers(log_a, blocks, size), local[:, :, -1])
    entering = torch.cat([torch.zeros_like(ends[:, :1]), ends[:, :-1]], dim=1)
    offsets = torch.arange(1, size + 1, device=b.device).to(log_a.real.dtype)
    decay = torch.exp(offsets[:, None] * log_a)  # a^(t+1): how much of the entering state reaches step t
    h = local + decay * entering[:, :, None]
    return h.reshape(batch, blocks * size, channels)[:, :time]
