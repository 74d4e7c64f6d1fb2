"""Conformance checks of one numpy cell variant (see benchsuite.testing).

A numpy cell has `params` and `grads` (dicts of float arrays named as torch's nn.RNN state dict names
them), `forward(x) -> (output, h_n)` and `backward(d_output) -> d_x`, which fills `grads` for the
last forward. The backbone initialises `params` in place, so the checks do too. The backward pass is
written by hand, so gradients are checked by finite differences.
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np

from ..layers.numpy_layers import build_layer
from ..specs import CellConfig, CellSpec
from .common import TIME, call_forward, check_forward, check_param_count, failure_named, seeded, single_layer_configs

single_thread = nullcontext  # torch's thread setting does not reach numpy's BLAS, so there is nothing to pin
__all__ = ["check_forward_only", "check_variant", "seeded", "single_thread"]
FD_PROBES = 2  # entries probed per parameter (and of the input)
FD_TOLERANCE = {np.dtype(np.float64): (1e-6, 1e-5), np.dtype(np.float32): (1e-2, 5e-2)}  # (step, relative error)


def _check_interface(layer: Any, config: CellConfig, where: str) -> None:
    for name in ("params", "grads"):
        assert isinstance(getattr(layer, name, None), dict), f"{where}: the cell needs a dict attribute {name!r}"
    for name in ("forward", "backward"):
        assert callable(getattr(layer, name, None)), f"{where}: the cell needs a method {name}()"
    assert layer.params, f"{where}: params is empty"
    for name, value in layer.params.items():
        assert isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating), (
            f"{where}: params[{name!r}] must be a float numpy array, got {type(value).__name__}")
    suffixes = [f"_l{layer_index}{'_reverse' if reverse else ''}" for layer_index in range(config.num_layers)
                for reverse in range(config.directions)]
    for suffix in suffixes:
        assert any(name.endswith(suffix) for name in layer.params), (
            f"{where}: no parameter is named for '{suffix}'; name them as torch's nn.RNN state dict does "
            f"(weight_ih{suffix}, weight_hh{suffix}, ...); found {sorted(layer.params)}")


def _loss(layer: Any, x: np.ndarray, weights: np.ndarray) -> float:
    return float((layer.forward(x)[0] * weights).sum())


def _finite_difference(layer: Any, x: np.ndarray, weights: np.ndarray, array: np.ndarray,
                       index: tuple, step: float) -> float:
    """d loss / d array[index], by central differences, leaving `array` as it was."""
    kept = array[index]
    array[index] = kept + step
    above = _loss(layer, x, weights)
    array[index] = kept - step
    below = _loss(layer, x, weights)
    array[index] = kept
    return (above - below) / (2 * step)


def _check_gradients(layer: Any, x: np.ndarray, rng: np.random.Generator, where: str) -> None:
    weights = rng.standard_normal(layer.forward(x)[0].shape)
    with failure_named(f"{where}: backward"):
        d_x = layer.backward(weights)
    assert np.shape(d_x) == x.shape, f"{where}: backward returned d_x of shape {np.shape(d_x)}, expected {x.shape}"
    grads = {name: np.array(value, copy=True) for name, value in layer.grads.items()}
    assert set(grads) == set(layer.params), (
        f"{where}: grads must have the keys of params; missing {sorted(set(layer.params) - set(grads))}, "
        f"extra {sorted(set(grads) - set(layer.params))}")
    for name, value in layer.params.items():
        assert grads[name].shape == value.shape, (
            f"{where}: grads[{name!r}] has shape {grads[name].shape}, params[{name!r}] has {value.shape}")
        assert np.isfinite(grads[name]).all(), f"{where}: grads[{name!r}] holds NaN or infinity"
        assert np.abs(grads[name]).sum() > 0, f"{where}: no gradient reaches parameter {name!r}"

    dtype = next(iter(layer.params.values())).dtype
    step, tolerance = FD_TOLERANCE.get(dtype, FD_TOLERANCE[np.dtype(np.float32)])
    probes = [(f"params[{name!r}]", value, grads[name]) for name, value in layer.params.items()]
    probes.append(("d_x", x, np.asarray(d_x)))
    for label, array, analytic in probes:
        for flat in rng.choice(array.size, size=min(FD_PROBES, array.size), replace=False):
            index = np.unravel_index(flat, array.shape)
            numeric = _finite_difference(layer, x, weights, array, index, step)
            error = abs(numeric - analytic[index]) / max(abs(numeric), abs(analytic[index]), 1e-3)
            assert error < tolerance, (
                f"{where}: the gradient of {label} at {tuple(int(i) for i in index)} is {analytic[index]:.6g} "
                f"but finite differences give {numeric:.6g}; check backward()")


def _build(spec: CellSpec, config: CellConfig, where: str) -> Any:
    with failure_named(f"{where}: build"):
        layer = build_layer(spec.build, config, spec.native_variants)
    _check_interface(layer, config, where)
    # Initialising is the backend's job (a cell may start at zeros): fill params in place as it does.
    rng = np.random.default_rng(0)
    for value in layer.params.values():
        value[...] = rng.uniform(-config.hidden_size ** -0.5, config.hidden_size ** -0.5, value.shape)
    return layer


def _forward_checked(layer: Any, config: CellConfig, where: str, time: int) -> np.ndarray:
    def forward(x: np.ndarray) -> np.ndarray:
        return call_forward(layer.forward, x, config, where)[0]

    return check_forward(forward, config, where, time)[0]


def check_forward_only(spec: CellSpec, config: CellConfig, where: str, time: int) -> None:
    """Shapes, repeatability, sample independence and causality of one variant on sequences of `time` steps."""
    _forward_checked(_build(spec, config, where), config, where, time)


def check_variant(spec: CellSpec, config: CellConfig, where: str) -> None:
    """Interface, shapes, repeatability, independence of samples, causality, gradients and parameter count of one
    variant."""
    layer = _build(spec, config, where)
    x = _forward_checked(layer, config, where, TIME)
    _check_gradients(layer, x, np.random.default_rng(1), where)
    with failure_named(f"{where}: building single layers"):
        singles = [sum(v.size for v in spec.build(single).params.values())
                   for single in single_layer_configs(config)]
    check_param_count(sum(v.size for v in layer.params.values()), singles, config, where,
                      native=spec.native_variants)
