"""The built-in baselines against independent computations of the same weights.

mingru, minlstm and lru: the parallel scan (log-space, or a blocked convolution) against a step-by-step loop in
linear space, outputs and gradients. transformer: perturbing a future input leaves earlier outputs alone, unless
bidirectional. LRU: the paper's initialisation and an honest parameter count.
"""
from __future__ import annotations

import math

import pytest
import torch

from benchsuite import CellConfig, get_cell
from benchsuite_plugins.cells.layers.lru import LRU, R_MAX, R_MIN
from benchsuite_plugins.cells.layers.min_rnn import MinGRU, MinLSTM
from benchsuite_plugins.cells.layers.scan import CHUNK

# Every length around the scans' block edges, and the longest the acceptance asks for.
LENGTHS = sorted({1, 2, 3, 5, 100, 300, 512, 1024} | {k * CHUNK + d for k in (1, 2, 4, 32) for d in (-1, 0, 1)})
TOLERANCE = {torch.float64: 1e-9, torch.float32: 1e-4}
INPUT, HIDDEN, BATCH = 6, 8, 3


pytestmark = pytest.mark.usefixtures("one_thread")  # small tensors: more threads only add waiting


def outputs_and_gradients(layer: torch.nn.Module, x: torch.Tensor, mode: str) -> list[torch.Tensor]:
    """The output, h_n, and the gradients of a fixed random projection of the output w.r.t. input and weights."""
    layer.mode = mode
    x = x.detach().requires_grad_(True)
    output, h_n = layer(x)
    weights = torch.randn(output.shape, generator=torch.Generator().manual_seed(1), dtype=output.dtype)
    (output * weights).mean().backward()
    grads = [x.grad] + [p.grad.clone() for p in layer.parameters()]
    layer.zero_grad()
    return [output.detach(), h_n.detach()] + grads


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("cell", [MinGRU, MinLSTM, LRU], ids=lambda cell: cell.__name__)
def test_parallel_scan_equals_the_sequential_recurrence(cell, dtype):
    torch.manual_seed(0)
    layer = cell(INPUT, HIDDEN).to(dtype)
    names = ["output", "h_n", "d input"] + [f"d {name}" for name, _ in layer.named_parameters()]
    for length in LENGTHS:
        x = 2 * torch.randn(BATCH, length, INPUT, dtype=dtype)
        scanned = outputs_and_gradients(layer, x, "scan")
        stepped = outputs_and_gradients(layer, x, "sequential")
        for name, got, want in zip(names, scanned, stepped):
            error = (got - want).abs().max().item()
            assert error <= TOLERANCE[dtype], f"{cell.__name__}, T={length}, {dtype}: {name} differs by {error:.3g}"


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_transformer_mask_hides_the_future_unless_bidirectional(num_layers, bidirectional):
    torch.manual_seed(0)
    layer = get_cell("transformer").build(CellConfig(INPUT, 16, num_layers, bidirectional)).eval()
    x = torch.randn(BATCH, 40, INPUT)
    changed = x.clone()
    cut = 25
    changed[:, cut] += torch.randn(BATCH, INPUT)
    with torch.no_grad():
        before, after = layer(x)[0], layer(changed)[0]
    earlier = (after[:, :cut] - before[:, :cut]).abs().max().item()
    at_cut = (after[:, cut] - before[:, cut]).abs().max().item()
    assert at_cut > 1e-3  # the perturbed step itself must matter
    if bidirectional:
        assert earlier > 1e-3, "without the mask, earlier steps must see the later input"
    else:
        assert earlier == 0.0, f"a causal block's earlier outputs moved by {earlier:.3g}"


def test_lru_initialisation_follows_the_paper():
    torch.manual_seed(0)
    layer = LRU(INPUT, HIDDEN, state_size=4000)
    modulus = torch.exp(-torch.exp(layer.nu_log))
    assert modulus.min() >= R_MIN and modulus.max() <= R_MAX
    # Uniform on the ring's area: |lambda|^2 is uniform between r_min^2 and r_max^2, so its mean is their midpoint.
    assert abs((modulus ** 2).mean().item() - (R_MIN ** 2 + R_MAX ** 2) / 2) < 0.02
    assert torch.allclose(torch.exp(layer.gamma_log), torch.sqrt(1 - modulus ** 2))
    phase = torch.exp(layer.theta_log)
    assert phase.min() >= 0 and phase.max() <= 2 * math.pi


def test_lru_counts_complex_weights_as_two_real_scalars():
    layer = LRU(INPUT, HIDDEN, state_size=5)
    n, h, i = 5, HIDDEN, INPUT
    by_hand = 3 * n + 2 * n * i + 2 * h * n + h * i + (h * 2 * h + 2 * h)  # nu, theta, gamma; B; C; D; GLU
    assert sum(p.numel() for p in layer.parameters()) == by_hand
    assert all(not p.is_complex() for p in layer.parameters())


@pytest.mark.parametrize("heads", [1, 2, 4])
def test_transformer_mixer_with_heads_is_torchs_multihead_attention(heads: int) -> None:
    d, time = 8, 5
    torch.manual_seed(0)
    attention = get_cell("transformer").build(CellConfig(d, d, mixer=True), heads=heads).eval()
    # A hand count: the fused query/key/value matrix d x 3d and its bias, the output matrix d x d and its bias;
    # heads split these matrices, they add none.
    assert sum(p.numel() for p in attention.parameters()) == d * 3 * d + 3 * d + d * d + d
    reference = torch.nn.MultiheadAttention(d, heads, batch_first=True).eval()
    with torch.no_grad():
        reference.in_proj_weight.copy_(attention.qkv.weight)
        reference.in_proj_bias.copy_(attention.qkv.bias)
        reference.out_proj.weight.copy_(attention.out_proj.weight)
        reference.out_proj.bias.copy_(attention.out_proj.bias)
    x = torch.randn(BATCH, time, d)
    future = torch.triu(torch.ones(time, time, dtype=torch.bool), diagonal=1)  # True: may not attend
    expected, _ = reference(x, x, x, attn_mask=future, need_weights=False)
    output, _ = attention(x)
    torch.testing.assert_close(output, expected, rtol=1e-5, atol=1e-6)


def test_transformer_refuses_heads_that_do_not_divide_the_hidden_size() -> None:
    spec = get_cell("transformer")
    assert spec.constraint(CellConfig(4, 12), heads=4) == ""
    assert "multiple of heads (5)" in spec.constraint(CellConfig(4, 12), heads=5)
