"""The conformance kit: does a cell or task plugin keep benchsuite's contract?

`check_cell(spec)` and `check_task(spec)` raise `AssertionError` with a message naming the problem.
Call them from a plugin's own tests, or use the `benchsuite_kit` pytest fixture (see docs/plugins.md).
torch and numpy are imported only when a check runs.
"""
from __future__ import annotations

import importlib
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ..backends import BACKEND_MODULES, get_backend
from ..specs import HYPERPARAMETERS, CellConfig, CellSpec, TaskData, TaskSpec

# Tiny on purpose: the kit runs in plugin authors' unit tests. Sizes differ from each other so that
# a swapped axis shows up as a wrong shape.
BATCH, TIME, INPUT_SIZE, HIDDEN_SIZE = 3, 7, 5, 4
VARIANTS = ((1, False), (1, True), (2, False), (2, True))
TRAIN_STEPS, TRAIN_LR = 25, 0.05
# Characters that `--cells a,b`, `--tasks a,b` and `--task-opt task.key=value` use as separators.
NAME_PATTERN = re.compile(r"^[^\s,.=]+$")


def _variant(config: CellConfig) -> str:
    layers = f"{config.num_layers} layer{'s' if config.num_layers > 1 else ''}"
    return f"{layers}, {'bidirectional' if config.bidirectional else 'unidirectional'}"


@contextmanager
def failure_named(what: str) -> Iterator[None]:
    """Turn an exception raised by plugin code into an AssertionError that says what was being done."""
    try:
        yield
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}") from exc


def _check_name(kind: str, name: Any) -> None:
    assert isinstance(name, str) and NAME_PATTERN.match(name), (
        f"{kind} name {name!r} must be a non-empty string without spaces, commas, dots or '=' "
        f"(the command line uses those to separate names and options)")


def _lookup(spec: Any, kind: type, getter: Callable[[str], Any]) -> Any:
    if isinstance(spec, str):
        return getter(spec)
    assert isinstance(spec, kind), f"expected a {kind.__name__} (or a registered name), got {type(spec).__name__}"
    return spec


def registered_specs(plugin: object) -> tuple[list[CellSpec], list[TaskSpec]]:
    """The cells and tasks `plugin` (a module or object with hook implementations) registers.

    The plugin is validated as `bench` validates it: hook names and signatures must match
    benchsuite.hookspecs, and `register` accepts only CellSpec or TaskSpec objects.
    """
    from ..registry.loading import collect_specs, new_manager

    manager = new_manager()
    with failure_named(f"registering plugin {plugin!r}"):
        name = manager.register(plugin)
        manager.check_pending()
        specs = collect_specs(manager, name)
    return ([spec for spec in specs if isinstance(spec, CellSpec)],
            [spec for spec in specs if isinstance(spec, TaskSpec)])


# ----------------------------------------------------------------------------------------------- cells

def check_cell(spec: CellSpec | str, seed: int = 0) -> None:
    """Check a cell on a tiny config, for 1 and 2 layers and both directions, as the suite will build it.

    Checks: the (output, h_n) shapes; output finite; the same input gives the same output twice;
    unidirectional outputs never depend on later inputs; gradients reach every parameter (and, for
    numpy cells, agree with finite differences); the parameter count equals that of the layers the
    variant is made of; the same seed gives the same model; a few training steps lower the loss.
    """
    from .. import get_cell

    spec = _lookup(spec, CellSpec, get_cell)
    _check_name("cell", spec.name)
    assert spec.backend in BACKEND_MODULES, (
        f"cell {spec.name!r}: unknown backend {spec.backend!r}; known backends: {', '.join(sorted(BACKEND_MODULES))}")
    assert callable(spec.build), f"cell {spec.name!r}: build must be callable, got {type(spec.build).__name__}"
    checks = importlib.import_module(f"benchsuite.testing.{spec.backend}_checks")
    with checks.single_thread():
        for num_layers, bidirectional in VARIANTS:
            config = CellConfig(INPUT_SIZE, HIDDEN_SIZE, num_layers, bidirectional)
            checks.check_variant(spec, config, f"cell {spec.name!r} ({_variant(config)})")
        for config in (CellConfig(INPUT_SIZE, HIDDEN_SIZE), CellConfig(INPUT_SIZE, HIDDEN_SIZE, 2, True)):
            _check_training(spec, config, seed, f"cell {spec.name!r} ({_variant(config)})")


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
    directions = 2 if config.bidirectional else 1
    return [CellConfig(config.input_size if layer == 0 else config.hidden_size * directions, config.hidden_size)
            for layer in range(config.num_layers) for _ in range(directions)]


def check_param_count(count: int, single_counts: list[int], config: CellConfig, where: str) -> None:
    """A variant holds exactly the parameters of its single layers: no more, none shared."""
    expected = sum(single_counts)
    assert count == expected, (
        f"{where}: the variant has {count} parameters, but the {len(single_counts)} single unidirectional "
        f"layer(s) it is made of have {expected} ({' + '.join(map(str, single_counts))}); a variant must hold one "
        "layer's parameters per layer and direction, none shared (does build() return a shared or cached object?)")


def tiny_task(seed: int = 0) -> TaskData:
    """A small learnable task: say which symbol is being read, with a few targets ignored."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.integers(0, INPUT_SIZE, size=(8, 6))
    y = x.copy()
    y[:, 0] = -1  # exercises the ignored-target path
    return TaskData([chr(ord("a") + i) for i in range(INPUT_SIZE)], x, y)


def _check_training(spec: CellSpec, config: CellConfig, seed: int, where: str) -> None:
    data = tiny_task(seed)
    backend = get_backend(spec.backend)
    losses = []
    for _ in range(2):  # two sessions with one seed must start from the same model
        with failure_named(f"{where}: opening a {spec.backend} session"):
            session = backend.open_session(spec, config, data, TRAIN_LR, "cpu", seed)
        with failure_named(f"{where}: evaluating before training"):
            losses.append(session.evaluate("train").loss)
    assert losses[0] == losses[1], (
        f"{where}: two models built with seed {seed} give different losses ({losses[0]!r} and {losses[1]!r}); "
        "build() must draw its random numbers from the generator the backend seeds")
    with failure_named(f"{where}: training"):
        for _ in range(TRAIN_STEPS):
            for batch in session.batches(1):
                session.train_step(batch)
        after = session.evaluate("train").loss
    assert after < losses[0], (
        f"{where}: {TRAIN_STEPS} Adam steps (lr {TRAIN_LR}) on a tiny task did not lower the loss: "
        f"{losses[0]:.4f} before, {after:.4f} after")


# ----------------------------------------------------------------------------------------------- tasks

def _future_offset(x: Any, y: Any) -> int | None:
    """The k >= 1 for which every comparable counted target is the input k steps later, if any."""
    import numpy as np

    for k in range(1, x.shape[1]):
        counted = y[:, :-k] >= 0
        if counted.sum() * 2 < (y >= 0).sum():  # too few targets left to compare
            break
        if np.array_equal(y[:, :-k][counted], x[:, k:][counted]):
            return k
    return None


def _check_split(name: str, split: str, x: Any, y: Any, vocab_size: int) -> None:
    import numpy as np

    where = f"task {name!r}, {split} split"
    assert x is not None and y is not None, f"{where}: x_{split} and y_{split} must be given together"
    x, y = np.asarray(x), np.asarray(y)
    for label, array in (("x", x), ("y", y)):
        assert np.issubdtype(array.dtype, np.integer), (
            f"{where}: {label}_{split} must hold integers indexing vocab, got dtype {array.dtype}")
    assert x.ndim == 2 and x.shape == y.shape, (
        f"{where}: x_{split} and y_{split} must both have shape (N, T); got {x.shape} and {y.shape}")
    assert x.size > 0, f"{where}: no samples"
    assert x.min() >= 0 and x.max() < vocab_size, (
        f"{where}: inputs must lie in 0..{vocab_size - 1} (the vocabulary), found {x.min()}..{x.max()}")
    assert y.max() < vocab_size, (
        f"{where}: targets must be below {vocab_size} (the vocabulary size) or negative to be ignored; "
        f"found {y.max()}")
    assert (y >= 0).any(), f"{where}: every target is negative (ignored), so nothing would be learned or measured"


def check_task(spec: TaskSpec | str, **options: Any) -> None:
    """Build a task (with `options`, as `--task-opt` would pass them) and check what it returns.

    Checks: the name is usable on the command line; `build` returns TaskData; vocab is distinct
    strings; each split is an integer (N, T) pair in the vocabulary's range with some counted targets;
    defaults name known hyperparameters; building twice gives the same data; `causal` is a bool, and a
    task declared non-causal does not ask for the next inputs (bidirectional variants would read them).
    """
    import numpy as np

    from .. import get_task

    spec = _lookup(spec, TaskSpec, get_task)
    _check_name("task", spec.name)
    where = f"task {spec.name!r}"
    assert isinstance(spec.causal, bool), f"{where}: causal must be True or False, got {spec.causal!r}"
    with failure_named(f"{where}: build(**{options!r})"):
        data = spec.build(**options)
        again = spec.build(**options)
    assert isinstance(data, TaskData), f"{where}: build() must return benchsuite.TaskData, got {type(data).__name__}"
    vocab = list(data.vocab)
    assert vocab and all(isinstance(symbol, str) for symbol in vocab), f"{where}: vocab must be a list of strings"
    assert len(set(vocab)) == len(vocab), f"{where}: vocab has repeated symbols; each index must mean one symbol"
    _check_split(spec.name, "train", data.x_train, data.y_train, len(vocab))
    if data.x_valid is not None or data.y_valid is not None:
        _check_split(spec.name, "valid", data.x_valid, data.y_valid, len(vocab))
    for defaults in (spec.defaults, data.defaults):
        unknown = set(defaults) - set(HYPERPARAMETERS)
        assert not unknown, (f"{where}: defaults name unknown hyperparameters {sorted(unknown)}; "
                             f"known: {', '.join(HYPERPARAMETERS)}")
    assert data.ceiling is None or 0 < data.ceiling <= 1, f"{where}: ceiling must lie in (0, 1], got {data.ceiling}"
    for field_name in ("x_train", "y_train", "x_valid", "y_valid"):
        first, second = getattr(data, field_name), getattr(again, field_name)
        assert (first is None and second is None) or np.array_equal(first, second), (
            f"{where}: two builds with the same options give different {field_name}; seed any randomness so "
            "runs can be reproduced")
    if not spec.causal:
        offset = _future_offset(np.asarray(data.x_train), np.asarray(data.y_train))
        assert offset is None, (
            f"{where}: declared causal=False, but every target is the input {offset} step(s) later, so a "
            "bidirectional variant would read the answer; declare causal=True")
