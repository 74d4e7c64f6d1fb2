"""What the conformance kit's cell checks share, whatever the backend: sizes, shape and causality checks, and
turning a plugin's exception into a message saying what was being done."""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ..layers import layer_configs
from ..specs import CellConfig

# Tiny on purpose: the kit runs in plugin authors' unit tests. Sizes differ from each other so that
# a swapped axis shows up as a wrong shape.
BATCH, TIME, INPUT_SIZE, HIDDEN_SIZE = 3, 7, 5, 4
VARIANTS = ((1, False), (1, True), (2, False), (2, True))
TRAIN_STEPS, TRAIN_LR = 25, 0.05
# Beyond the tiny sizes: an input as wide as a typical character vocabulary with each hidden size the built-in
# tasks use, and one long sequence (context limits and head constraints show only there).
TASK_INPUT_SIZE, LONG_TIME = 29, 1000
# A parameter is "detached" only if its gradient is exactly zero on every one of these random batches: one batch
# can leave a legitimate parameter without gradient (a dead ReLU unit).
GRADIENT_BATCHES = 4


class KitWarning(UserWarning):
    """Something the kit finds unusual but legitimate for some cells (e.g. a native stack's parameter count)."""


@contextmanager
def failure_named(what: str) -> Iterator[None]:
    """Turn an exception raised by plugin code into an AssertionError that says what was being done. A plugin's own
    failed `assert` is wrapped too (bare, it would say nothing); the kit's assertions run outside these blocks."""
    try:
        yield
    except Exception as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}") from exc


def expected_shapes(config: CellConfig, batch: int = BATCH, time: int = TIME) -> tuple[tuple, tuple]:
    """The output and h_n shapes torch's nn.RNN(batch_first=True) gives for `config`."""
    return (batch, time, config.output_size), (config.num_layers * config.directions, batch, config.hidden_size)


def _is_complex(state: Any) -> bool:
    dtype = getattr(state, "dtype", None)
    return bool(getattr(dtype, "is_complex", False)) or getattr(dtype, "kind", "") == "c"


def check_output_shapes(output: Any, h_n: Any, config: CellConfig, where: str, batch: int = BATCH,
                        time: int = TIME) -> None:
    """Assert torch's shapes for (output, h_n); an LSTM-style h_n may be a tuple of such states, and a layer
    without a usable state returns None."""
    want_output, want_state = expected_shapes(config, batch, time)
    shape = tuple(getattr(output, "shape", ()))
    hint = ""
    if len(shape) == 2:
        hint = "; the time axis is missing: return one output per time step"
    elif len(shape) == 3 and shape[:2] == (batch, config.output_size):
        hint = "; the time and feature axes look swapped"
    assert shape == want_output, (
        f"{where}: output has shape {shape}, expected (batch, time, hidden_size * directions) = {want_output}{hint}")
    if h_n is None:
        return
    for state in h_n if isinstance(h_n, tuple) else (h_n,):
        state_shape = tuple(getattr(state, "shape", ()))
        # The last axis may be wider than hidden_size: a state expanded before an output projection (minGRU's).
        shaped = len(state_shape) == 3 and state_shape[:2] == want_state[:2] and state_shape[2] >= 1
        assert shaped and not _is_complex(state), (
            f"{where}: h_n has shape {state_shape}{' and is complex' if _is_complex(state) else ''}, expected "
            f"(num_layers * directions, batch, hidden_size) = {want_state}, ordered as torch orders it: layer by "
            "layer, forward before reverse (a layer whose state is wider than hidden_size gives that width last). "
            "A returned state must be real and shaped as torch's; a layer without such a state returns (output, "
            "None)")


def call_forward(forward: Callable[[Any], Any], x: Any, config: CellConfig, where: str) -> tuple[Any, Any]:
    """`forward(x)`, checked: a pair (output, h_n) with torch's shapes and a finite output."""
    with failure_named(f"{where}: forward"):
        result = forward(x)
    assert isinstance(result, tuple) and len(result) == 2, (
        f"{where}: forward(x) must return a pair (output, h_n) as nn.RNN does (h_n may be None), "
        f"got {type(result).__name__}")
    output, h_n = result
    check_output_shapes(output, h_n, config, where, batch=x.shape[0], time=x.shape[1])
    # abs().max() works alike on numpy arrays and torch tensors, and is NaN when any entry is.
    assert bool(abs(output).max() < float("inf")), f"{where}: output holds NaN or infinity for a random input"
    return output, h_n


def check_forward(forward: Callable[[Any], Any], config: CellConfig, where: str, time: int = TIME,
                  seed: int = 0) -> tuple[Any, Any]:
    """Run `forward` (numpy input to numpy output, shapes checked) on a random input; return (x, output).

    The same input must give the same output twice; changing one sample must leave the others' outputs alone
    (a layer reading the batch axis as time mixes them); and a unidirectional output at step t must not change
    when only inputs after t change.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, time, config.input_size))
    output = forward(x)
    assert np.array_equal(output, forward(x)), (
        f"{where}: the same input gave a different output on a second call; forward must not keep state "
        "between calls or draw random numbers (in eval mode)")
    changed = x.copy()
    changed[0] = rng.standard_normal(changed[0].shape)
    mixed = ~np.isclose(forward(changed)[1:], output[1:], atol=1e-6).all(axis=(1, 2))
    assert not mixed.any(), (
        f"{where}: changing only sample 0 of the batch changed the output of sample {int(mixed.argmax()) + 1}; "
        "samples must be independent. Does the layer read x as (time, batch, features)? x is (batch, time, "
        "features): build torch layers with batch_first=True, or transpose around a time-first layer")
    if not config.bidirectional:
        cut = time // 2
        changed = x.copy()
        changed[:, cut + 1:] = rng.standard_normal(changed[:, cut + 1:].shape)
        assert np.allclose(forward(changed)[:, :cut + 1], output[:, :cut + 1], atol=1e-6), (
            f"{where}: the output at step {cut} changed when only later inputs changed; a unidirectional "
            "layer must read the sequence in order (causal tasks rely on it)")
    return x, output


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Python's and NumPy's global generators seeded for the block and restored after it, so a cell that draws
    from them gets the same numbers whatever the caller's random state (torch_checks adds torch's)."""
    import random

    import numpy as np

    kept_python, kept_numpy = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed)
    try:
        yield
    finally:
        random.setstate(kept_python)
        np.random.set_state(kept_numpy)


def single_layer_configs(config: CellConfig) -> list[CellConfig]:
    """The unidirectional one-layer configs a variant is made of: one per layer and direction."""
    return [single for directions in layer_configs(config) for single in directions]


def check_param_count(count: int, single_counts: list[int], config: CellConfig, where: str,
                      native: bool = False) -> None:
    """A composed variant holds exactly the parameters of its single layers: no more, none shared. A native stack
    may legitimately differ (it may drop or share a projection), so for one this is a warning."""
    expected = sum(single_counts)
    if count == expected:
        return
    made_of = (f"the {len(single_counts)} single unidirectional layer(s) it stands for have {expected} "
               f"({' + '.join(map(str, single_counts))})")
    if native:
        warnings.warn(f"{where}: the native stack has {count} parameters, {made_of}. Fine if the stack drops or "
                      "shares a part by design; otherwise check how build() uses num_layers and bidirectional",
                      KitWarning, stacklevel=2)
        return
    raise AssertionError(
        f"{where}: the variant has {count} parameters, but {made_of}; a composed variant must hold one layer's "
        "parameters per layer and direction, none shared (does build() return a shared or cached object?)")
