"""Conformance checks of one torch cell variant, built as the suite builds it (see benchsuite.testing)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, ContextManager, Iterator

import numpy as np
import torch
from torch import nn

from ..backbones import build_model
from ..layers.torch_layers import build_layer, count_parameters
from ..measurement.environment import thread_count
from ..specs import CellConfig, CellSpec
from .common import (
    BATCH,
    GRADIENT_BATCHES,
    TIME,
    call_forward,
    check_forward,
    check_param_count,
    failure_named,
    single_layer_configs,
)
from .common import seeded as seeded_globals


def single_thread() -> ContextManager[int]:
    """The kit's tensors are tiny: more threads only add overhead (ten times the time on a busy machine)."""
    return thread_count(1)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """torch's CPU generator (and Python's and NumPy's) seeded for the block, the caller's state restored after."""
    with torch.random.fork_rng(devices=[]), seeded_globals(seed):
        torch.manual_seed(seed)
        yield


def _build(spec: CellSpec, config: CellConfig, where: str) -> nn.Module:
    with failure_named(f"{where}: build"):
        layer = build_layer(spec.build, config, spec.native_variants)
    assert isinstance(layer, nn.Module), f"{where}: build must return a torch.nn.Module, got {type(layer).__name__}"
    layer.eval()  # dropout and the like would make the repeatability check meaningless
    return layer


def _forward_checked(layer: nn.Module, config: CellConfig, where: str, time: int) -> np.ndarray:
    def forward(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return call_forward(layer, torch.as_tensor(x, dtype=torch.float32), config, where)[0].numpy()

    return check_forward(forward, config, where, time)[0]


def check_forward_only(spec: CellSpec, config: CellConfig, where: str, time: int) -> None:
    """Shapes, repeatability, sample independence and causality of one variant on sequences of `time` steps."""
    _forward_checked(_build(spec, config, where), config, where, time)


def _check_gradient_reach(parameters: list[tuple[str, nn.Parameter]], batch_loss: Callable[[torch.Generator],
                          torch.Tensor], where: str) -> None:
    """Gradients of `batch_loss` (one random batch's loss, drawn from the generator) reach every parameter on at least
    one of several random batches, and are finite on all."""
    assert parameters, f"{where}: the layer has no trainable parameters (register them as nn.Parameter)"
    generator = torch.Generator().manual_seed(0)
    reached = {name: False for name, _ in parameters}
    for _ in range(GRADIENT_BATCHES):
        for _, parameter in parameters:
            parameter.grad = None
        loss = batch_loss(generator)
        with failure_named(f"{where}: backward"):
            loss.backward()
        for name, parameter in parameters:
            if parameter.grad is not None:
                assert torch.isfinite(parameter.grad).all(), f"{where}: the gradient of {name!r} holds NaN or infinity"
                reached[name] = reached[name] or bool(parameter.grad.abs().sum() > 0)
    for name, got in reached.items():
        assert got, (f"{where}: no gradient reaches parameter {name!r} on any of {GRADIENT_BATCHES} random batches; "
                     "is it used in forward, and is nothing detached?")


def _check_gradients(layer: nn.Module, config: CellConfig, where: str) -> None:
    """Gradients reach every parameter of the layer."""
    def batch_loss(generator: torch.Generator) -> torch.Tensor:
        x = torch.randn((BATCH, TIME, config.input_size), generator=generator)
        output, h_n = call_forward(layer, x, config, where)
        states = () if h_n is None else h_n if isinstance(h_n, tuple) else (h_n,)
        loss = (output * torch.randn(output.shape, generator=generator)).sum()
        return loss + sum((state * torch.randn(state.shape, generator=generator)).sum() for state in states)

    _check_gradient_reach([(name, p) for name, p in layer.named_parameters() if p.requires_grad], batch_loss, where)


def check_variant(spec: CellSpec, config: CellConfig, where: str) -> None:
    """Shapes, repeatability, independence of samples, causality, gradients and parameter count of one variant."""
    layer = _build(spec, config, where)
    _forward_checked(layer, config, where, TIME)
    _check_gradients(layer, config, where)
    with failure_named(f"{where}: building single layers"):
        singles = [count_parameters(spec.build(single)) for single in single_layer_configs(config)]
    check_param_count(count_parameters(layer), singles, config, where, native=spec.native_variants)


def check_block_variant(spec: CellSpec, config: CellConfig, where: str) -> None:
    """The cell as the `block` backbone's mixer (`config.num_layers` blocks, vocabulary `config.input_size`):
    repeatability, independence of samples and causality of the whole model on integer codes, and gradients
    reaching every parameter of its mixers."""
    with failure_named(f"{where}: build"):
        model = build_model(spec, config, config.input_size, seed=0, backbone="block").eval()

    def forward(x: np.ndarray) -> np.ndarray:  # random features read as codes: the largest feature's index
        with torch.no_grad(), failure_named(f"{where}: forward"):
            return model(torch.as_tensor(x.argmax(-1))).numpy()

    check_forward(forward, config, where)

    def batch_loss(generator: torch.Generator) -> torch.Tensor:
        logits = model(torch.randint(0, config.input_size, (BATCH, TIME), generator=generator))
        return (logits * torch.randn(logits.shape, generator=generator)).sum()

    mixers = [(name, p) for name, p in model.named_parameters() if ".mixer." in name and p.requires_grad]
    _check_gradient_reach(mixers, batch_loss, f"{where}, inside the block backbone")
