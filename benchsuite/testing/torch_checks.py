"""Conformance checks of one torch cell variant, built as the suite builds it (see benchsuite.testing)."""
from __future__ import annotations

from typing import ContextManager

import numpy as np
import torch
from torch import nn

from .common import call_forward, check_forward, check_param_count, failure_named, single_layer_configs
from ..specs import CellConfig, CellSpec
from ..measurement.timing import thread_count
from ..backends.torch_variants import build_layer


def single_thread() -> ContextManager[int]:
    """The kit's tensors are tiny: more threads only add overhead (ten times the time on a busy machine)."""
    return thread_count(1)


def _param_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def check_variant(spec: CellSpec, config: CellConfig, where: str) -> None:
    """Shapes, repeatability, causality, gradients and parameter count of one variant."""
    with failure_named(f"{where}: build"):
        layer = build_layer(spec.build, config, spec.native_variants)
    assert isinstance(layer, nn.Module), f"{where}: build must return a torch.nn.Module, got {type(layer).__name__}"
    layer.eval()  # dropout and the like would make the repeatability check meaningless

    def forward(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return call_forward(layer, torch.as_tensor(x, dtype=torch.float32), config, where)[0].numpy()

    x, _ = check_forward(forward, config, where)

    parameters = [(name, p) for name, p in layer.named_parameters() if p.requires_grad]
    assert parameters, f"{where}: the layer has no trainable parameters (register them as nn.Parameter)"
    generator = torch.Generator().manual_seed(0)
    output, h_n = call_forward(layer, torch.as_tensor(x, dtype=torch.float32), config, where)
    states = h_n if isinstance(h_n, tuple) else (h_n,)
    loss = (output * torch.randn(output.shape, generator=generator)).sum()
    loss = loss + sum((state * torch.randn(state.shape, generator=generator)).sum() for state in states)
    with failure_named(f"{where}: backward"):
        loss.backward()
    for name, parameter in parameters:
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, (
            f"{where}: no gradient reaches parameter {name!r}; is it used in forward, and is nothing detached?")
        assert torch.isfinite(parameter.grad).all(), f"{where}: the gradient of {name!r} holds NaN or infinity"

    with failure_named(f"{where}: building single layers"):
        singles = [_param_count(spec.build(single)) for single in single_layer_configs(config)]
    check_param_count(_param_count(layer), singles, config, where)
