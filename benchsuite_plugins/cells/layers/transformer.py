"""A small pre-LayerNorm Transformer block as a cell, imported only when a run builds it."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from benchsuite.layers.torch_layers import sinusoidal_positions

HEAD_SIZE = 16  # features per attention head, where the hidden size allows
MLP_RATIO = 4


def head_count(hidden_size: int, heads: int = 0) -> int:
    """`heads` when given (above 0), else the most heads of at least HEAD_SIZE features that divide `hidden_size`
    (1 for small sizes)."""
    if heads:
        return heads
    return max(d for d in range(1, max(1, hidden_size // HEAD_SIZE) + 1) if hidden_size % d == 0)


def attend(qkv: nn.Linear, out: nn.Linear, x: torch.Tensor, heads: int, causal: bool,
           dropout: float = 0.0) -> torch.Tensor:
    """Multi-head scaled dot-product attention of `x` (batch, time, d) with itself: `qkv` makes queries, keys and
    values together (each split into `heads` consecutive slices), `out` maps the heads' joined outputs back to d;
    `dropout` is the share of attention weights dropped."""
    batch, time, _ = x.shape
    # (batch, time, 3 * d) -> three (batch, heads, time, head size)
    q, k, v = qkv(x).view(batch, time, 3, heads, -1).permute(2, 0, 3, 1, 4)
    attended = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=causal)
    return out(attended.transpose(1, 2).reshape(batch, time, -1))


class SelfAttention(nn.Module):
    """The transformer cell's mixer form under the `block` backbone: bare multi-head attention, d -> d, causal
    unless `causal=False`, with no embedding, positions, norms or MLP of its own (the backbone adds positions to
    the embedding once, and its blocks supply the norms and MLP), so a stack of blocks is a standard pre-norm
    Transformer. `heads` 0 picks them by `head_count`; `dropout` drops that share of the attention weights while
    training. Returns (output, h_n) as nn.RNN does, h_n the output at the last step as TransformerLayer's."""

    def __init__(self, size: int, causal: bool = True, heads: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        self.causal = causal
        self.heads = head_count(size, heads)
        self.dropout = dropout
        self.qkv = nn.Linear(size, 3 * size)
        self.out_proj = nn.Linear(size, size)  # the residual branch's output (scaled by the block's init)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        output = attend(self.qkv, self.out_proj, x, self.heads, self.causal, self.dropout if self.training else 0.0)
        return output, output[:, -1].unsqueeze(0)


class TransformerLayer(nn.Module):
    """One block, batch first, returning (output, h_n) as nn.RNN does (h_n: the output at the last step).

    in = LN(W_in u_t) + position(t);  h = in + Attn(LN(in));  h = h + MLP(LN(h));  out = LN(h).
    Attention is causal (step t reads steps <= t) unless `causal=False`. No dropout: runs stay deterministic.
    The input projection and final norm make one block a complete cell, so blocks also stack as layers. The
    projected input is normalised so it weighs as much as the position code whatever its own scale (a one-hot
    character projects to about 0.1, a lower block's output to about 1): on ship and cloze that lifted
    accuracy by 0.05 to 0.1 in a trial run.
    """

    def __init__(self, input_size: int, hidden_size: int, causal: bool = True, heads: int = 0) -> None:
        super().__init__()
        self.causal = causal
        self.heads = head_count(hidden_size, heads)
        self.embed = nn.Linear(input_size, hidden_size)
        self.embed_norm = nn.LayerNorm(hidden_size)
        self.attn_norm = nn.LayerNorm(hidden_size)
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size)
        self.attn_out = nn.Linear(hidden_size, hidden_size)
        self.mlp_norm = nn.LayerNorm(hidden_size)
        self.mlp = nn.Sequential(nn.Linear(hidden_size, MLP_RATIO * hidden_size), nn.GELU(),
                                 nn.Linear(MLP_RATIO * hidden_size, hidden_size))
        self.out_norm = nn.LayerNorm(hidden_size)

    def forward(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.embed_norm(self.embed(u))
        h = h + sinusoidal_positions(u.shape[1], h.shape[-1], h)
        h = h + attend(self.qkv, self.attn_out, self.attn_norm(h), self.heads, self.causal)
        h = h + self.mlp(self.mlp_norm(h))
        output = self.out_norm(h)
        return output, output[:, -1].unsqueeze(0)
