"""What the conformance kit's cell checks share, whatever the backend: sizes, shape and causality checks, and
turning a plugin's exception into a message saying what was being done."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ..backends.composition import layer_configs
from ..specs import CellConfig

# Tiny on purpose: the kit runs in plugin authors' unit tests. Sizes differ from each other so that
# a swapped axis shows up as a wrong shape.
BATCH, TIME, INPUT_SIZE, HIDDEN_SIZE = 3, 7, 5, 4
VARIANTS = ((1, False), (1, True), (2, False), (2, True))
TRAIN_STEPS, TRAIN_LR = 25, 0.05


@contextmanager
def failure_named(what: str) -> Iterator[None]:
    """Turn an exception raised by plugin code into an AssertionError that says what was being done."""
    try:
        yield
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}") from exc


def expected_shapes(config: CellConfig, batch: int = BATCH, time: int = TIME) -> tuple[tuple, tuple]:
    """The output and h_n shapes torch's nn.RNN(batch_first=True) gives for `config`."""
    directions = 2 if config.bidirectional else 1
    return (batch, time, config.hidden_size * directions), (config.num_layers * directions, batch, config.hidden_size)


def check_output_shapes(output: Any, h_n: Any, config: CellConfig, where: str) -> None:
    """Assert torch's shapes for (output, h_n); an LSTM-style h_n may be a tuple of such states."""
    want_output, want_state = expected_shapes(config)
    shape = tuple(getattr(output, "shape", ()))
    hint = ""
    if len(shape) == 2:
        hint = "; the time axis is missing: return one output per time step"
    elif len(shape) == 3 and shape[:2] == (BATCH, HIDDEN_SIZE * (2 if config.bidirectional else 1)):
        hint = "; the time and feature axes look swapped"
    assert shape == want_output, (
        f"{where}: output has shape {shape}, expected (batch, time, hidden_size * directions) = {want_output}{hint}")
    states = h_n if isinstance(h_n, tuple) else (h_n,)
    for state in states:
        state_shape = tuple(getattr(state, "shape", ()))
        assert state_shape == want_state, (
            f"{where}: h_n has shape {state_shape}, expected (num_layers * directions, batch, hidden_size) = "
            f"{want_state}, ordered as torch orders it: layer by layer, forward before reverse")


def call_forward(forward: Callable[[Any], Any], x: Any, config: CellConfig, where: str) -> tuple[Any, Any]:
    """`forward(x)`, checked: a pair (output, h_n) with torch's shapes and a finite output."""
    with failure_named(f"{where}: forward"):
        result = forward(x)
    assert isinstance(result, tuple) and len(result) == 2, (
        f"{where}: forward(x) must return a pair (output, h_n) as nn.RNN does, got {type(result).__name__}")
    output, h_n = result
    check_output_shapes(output, h_n, config, where)
    # abs().max() works alike on numpy arrays and torch tensors, and is NaN when any entry is.
    assert bool(abs(output).max() < float("inf")), f"{where}: output holds NaN or infinity for a random input"
    return output, h_n


def check_forward(forward: Callable[[Any], Any], config: CellConfig, where: str) -> tuple[Any, Any]:
    """Run `forward` (numpy input to numpy output, shapes checked) on a random input; return (x, output).

    The same input must give the same output twice, and a unidirectional output at step t must
    not change when only inputs after t change.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, TIME, config.input_size))
    output = forward(x)
    assert np.array_equal(output, forward(x)), (
        f"{where}: the same input gave a different output on a second call; forward must not keep state "
        "between calls or draw random numbers (in eval mode)")
    if not config.bidirectional:
        cut = TIME // 2
        changed = x.copy()
        changed[:, cut + 1:] = rng.standard_normal(changed[:, cut + 1:].shape)
        assert np.allclose(forward(changed)[:, :cut + 1], output[:, :cut + 1], atol=1e-6), (
            f"{where}: the output at step {cut} changed when only later inputs changed; a unidirectional "
            "layer must read the sequence in order (causal tasks rely on it)")
    return x, output


def single_layer_configs(config: CellConfig) -> list[CellConfig]:
    """The unidirectional one-layer configs a variant is made of: one per layer and direction."""
    return [single for directions in layer_configs(config) for single in directions]


def check_param_count(count: int, single_counts: list[int], config: CellConfig, where: str) -> None:
    """A variant holds exactly the parameters of its single layers: no more, none shared."""
    expected = sum(single_counts)
    assert count == expected, (
        f"{where}: the variant has {count} parameters, but the {len(single_counts)} single unidirectional "
        f"layer(s) it is made of have {expected} ({' + '.join(map(str, single_counts))}); a variant must hold one "
        "layer's parameters per layer and direction, none shared (does build() return a shared or cached object?)")
