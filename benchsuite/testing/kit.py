"""The conformance kit's entry points: a cell checked on every variant (through the backend's checks module,
imported when a check runs) and in training, a task's data checked, a plugin's registrations collected."""
from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path
from typing import Any, Callable

from ..backbones import BACKBONES, open_session, unsupported
from ..backends import BACKEND_MODULES, TrainingSettings
from ..planning.cells import constraint_refusal
from ..planning.tasks import check_task_data
from ..registry.loading import BUILTIN_MODULES, collect_specs, get_registry, load_plugin_file, new_manager
from ..specs import HYPERPARAMETERS, NAME_RULE, CellConfig, CellSpec, TaskData, TaskSpec, valid_name
from .common import (
    HIDDEN_SIZE,
    INPUT_SIZE,
    LONG_TIME,
    TASK_INPUT_SIZE,
    TIME,
    TRAIN_LR,
    TRAIN_STEPS,
    VARIANTS,
    failure_named,
)


def _variant(config: CellConfig) -> str:
    layers = f"{config.num_layers} layer{'s' if config.num_layers > 1 else ''}"
    return f"{layers}, {'bidirectional' if config.bidirectional else 'unidirectional'}"


def _check_name(kind: str, name: Any) -> None:
    assert valid_name(name), (
        f"{kind} name {name!r} must be a non-empty string without spaces, commas, dots or '=': {NAME_RULE} "
        f"(the command line uses those to separate names and options)")


def _lookup(spec: Any, kind: type, getter: Callable[[str], Any]) -> Any:
    if isinstance(spec, str):
        return getter(spec)
    assert isinstance(spec, kind), f"expected a {kind.__name__} (or a registered name), got {type(spec).__name__}"
    return spec


# A loose plugin file, as `--plugins-dir` holds them: a path, or text naming a `.py` file (a cell or task name holds
# no dots, so the two never mix).
PluginFile = str | os.PathLike


def _plugin_file(spec: Any) -> Path | None:
    """`spec` as the path of a loose plugin file, or None when it names no file."""
    if isinstance(spec, os.PathLike) or (isinstance(spec, str) and spec.endswith(".py")):
        return Path(spec)
    return None


def registered_specs(plugin: object | PluginFile) -> tuple[list[CellSpec], list[TaskSpec]]:
    """The cells and tasks `plugin` (a module or object with hook implementations, or a loose plugin file's path)
    registers.

    The plugin is validated as `bench` validates it: hook names and signatures must match
    benchsuite.hookspecs, and `register` accepts only CellSpec or TaskSpec objects with usable names.
    """
    path = _plugin_file(plugin)
    if path is not None:
        assert path.is_file(), f"no such plugin file: {path}"
        with failure_named(f"importing plugin file {path}"):
            plugin = load_plugin_file(path)
    manager = new_manager()
    with failure_named(f"registering plugin {plugin!r}"):
        name = manager.register(plugin)
        manager.check_pending()
        specs = collect_specs(manager, name, strict=True)
    return ([spec for spec in specs if isinstance(spec, CellSpec)],
            [spec for spec in specs if isinstance(spec, TaskSpec)])


# ----------------------------------------------------------------------------------------------- cells

def _specs_of_file(path: Path, kind: str) -> list[Any]:
    """Every cell (`kind` "cell") or task a loose plugin file registers; at least one."""
    cells, tasks = registered_specs(path)
    specs = cells if kind == "cell" else tasks
    assert specs, f"plugin file {path} registers no {kind} (its register_{kind}s hook registers none, or it has none)"
    return specs


def check_cell(spec: CellSpec | str | PluginFile, seed: int = 0, **options: Any) -> None:
    """Check a cell (a spec, a registered name, or every cell of a loose plugin file) on a tiny config, for 1 and 2
    layers and both directions, as the suite will build it.

    Checks: the (output, h_n) shapes (h_n may be None; a returned state must be real and shaped as torch's);
    output finite; the same input gives the same output twice; changing one sample leaves the others' outputs
    alone; unidirectional outputs never depend on later inputs; gradients reach every parameter (and, for numpy
    cells, agree with finite differences); a composed variant holds exactly its layers' parameters (a native
    stack that differs gets a KitWarning); the same seed gives the same model; a few training steps lower the
    loss; and the hidden sizes the built-in tasks use and one long sequence work too (sizes the cell's
    constraint refuses are skipped). `options` are the cell's own (as `--cell-opt` would set them). Every check
    is seeded from `seed`, so the verdict does not depend on the caller's random state, which is left as it was.
    """
    path = _plugin_file(spec)
    if path is not None:
        for cell in _specs_of_file(path, "cell"):
            check_cell(cell, seed, **options)
        return
    spec = _lookup(spec, CellSpec, lambda name: get_registry().cell(name))
    _check_name("cell", spec.name)
    assert spec.backend in BACKEND_MODULES, (
        f"cell {spec.name!r}: unknown backend {spec.backend!r}; known backends: {', '.join(sorted(BACKEND_MODULES))}")
    assert callable(spec.build), f"cell {spec.name!r}: build must be callable, got {type(spec.build).__name__}"
    assert spec.constraint is None or callable(spec.constraint), f"cell {spec.name!r}: constraint must be callable"
    built = spec.with_options(options)
    checks = importlib.import_module(f"benchsuite.testing.{spec.backend}_checks")

    def fits(config: CellConfig) -> bool:
        return not constraint_refusal(spec, config, options)

    hidden = _kit_hidden_size(fits)
    with checks.single_thread():
        for num_layers, bidirectional in VARIANTS:
            config = CellConfig(INPUT_SIZE, hidden, num_layers, bidirectional, TIME)
            if fits(config):
                with checks.seeded(seed):
                    checks.check_variant(built, config, f"cell {spec.name!r} ({_variant(config)})")
        for config, time, why in _wider_configs(hidden):
            if fits(config):
                with checks.seeded(seed):
                    checks.check_forward_only(built, config, f"cell {spec.name!r} ({why})", time)
        backbones = [backbone for backbone in BACKBONES if not unsupported(spec, backbone)]
        if "block" in backbones:
            for num_layers, bidirectional in VARIANTS:
                config = CellConfig(INPUT_SIZE, hidden, num_layers, bidirectional, TIME)
                if fits(config):
                    with checks.seeded(seed):
                        checks.check_block_variant(built, config, f"cell {spec.name!r} (block backbone, "
                                                                  f"{_variant(config)})")
        for config in (CellConfig(INPUT_SIZE, hidden, max_seq_len=TASK_TIME),
                       CellConfig(INPUT_SIZE, hidden, 2, True, TASK_TIME)):
            for backbone in backbones:
                if fits(config):
                    with checks.seeded(seed):  # the backbone seeds torch's global generator; the caller's is restored
                        _check_training(built, config, seed, f"cell {spec.name!r} ({backbone} backbone, "
                                                             f"{_variant(config)})", backbone)


def _kit_hidden_size(fits: Callable[[CellConfig], bool]) -> int:
    """The kit's hidden size, or the nearest one the cell's constraint accepts for every tiny variant."""
    for size in sorted(range(1, 16 * HIDDEN_SIZE + 1), key=lambda size: (abs(size - HIDDEN_SIZE), size)):
        if all(fits(CellConfig(INPUT_SIZE, size, layers, bi, TIME)) for layers, bi in VARIANTS):
            return size
    raise AssertionError(f"the cell's constraint refuses every hidden size up to {16 * HIDDEN_SIZE}")


def _wider_configs(hidden: int) -> list[tuple[CellConfig, int, str]]:
    """One-layer configs at the hidden sizes the built-in tasks use, and one long sequence: (config, time, label)."""
    configs = [(CellConfig(TASK_INPUT_SIZE, size, max_seq_len=TIME), TIME,
                f"hidden_size {size}, as built-in task {task!r} uses")
               for size, task in builtin_task_sizes().items()]
    configs.append((CellConfig(INPUT_SIZE, hidden, max_seq_len=LONG_TIME), LONG_TIME,
                    f"a sequence of {LONG_TIME} steps"))
    return configs


@functools.cache
def builtin_task_sizes() -> dict[int, str]:
    """Each hidden size the built-in tasks suggest, with the first task that does."""
    sizes: dict[int, str] = {}
    for module in BUILTIN_MODULES.values():
        for task in registered_specs(importlib.import_module(module))[1]:
            if "hidden_size" in task.defaults:
                sizes.setdefault(int(task.defaults["hidden_size"]), task.name)
    return dict(sorted(sizes.items()))


TASK_TIME = 6  # the tiny task's sequence length


def tiny_task(seed: int = 0) -> TaskData:
    """A small learnable task: say which symbol is being read, with a few targets ignored."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.integers(0, INPUT_SIZE, size=(8, TASK_TIME))
    y = x.copy()
    y[:, 0] = -1  # exercises the ignored-target path
    return TaskData([chr(ord("a") + i) for i in range(INPUT_SIZE)], x, y)


def _check_training(spec: CellSpec, config: CellConfig, seed: int, where: str, backbone: str) -> None:
    data = tiny_task(seed)
    losses = []
    for _ in range(2):  # two sessions with one seed must start from the same model
        with failure_named(f"{where}: opening a {spec.backend} session"):
            session = open_session(spec, config, data, TrainingSettings(lr=TRAIN_LR, seed=seed), backbone)
        with failure_named(f"{where}: evaluating before training"):
            losses.append(session.evaluate("train").loss)
    assert losses[0] == losses[1], (
        f"{where}: two models built with seed {seed} give different losses ({losses[0]!r} and {losses[1]!r}); "
        "build() must draw its random numbers from the generator the suite seeds")
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


def check_task(spec: TaskSpec | str | PluginFile, **options: Any) -> None:
    """Build a task (a spec, a registered name, or every task of a loose plugin file), with `options` as
    `--task-opt` would pass them, and check what it returns.

    Checks: the name is usable on the command line; `build` returns TaskData; vocab is distinct
    strings; each split is an integer (N, T) pair in the vocabulary's range with some counted targets;
    defaults name known hyperparameters; building twice gives the same data; `causal` is a bool, and a
    task declared non-causal does not ask for the next inputs (bidirectional variants would read them).
    """
    import numpy as np

    path = _plugin_file(spec)
    if path is not None:
        for task in _specs_of_file(path, "task"):
            check_task(task, **options)
        return
    spec = _lookup(spec, TaskSpec, lambda name: get_registry().task(name))
    _check_name("task", spec.name)
    where = f"task {spec.name!r}"
    assert isinstance(spec.causal, bool), f"{where}: causal must be True or False, got {spec.causal!r}"
    with failure_named(f"{where}: build(**{options!r})"):
        data = spec.build(**options)
        again = spec.build(**options)
    try:
        check_task_data(spec.name, data, complete=True)
    except (TypeError, ValueError) as exc:
        raise AssertionError(str(exc)) from None
    for defaults in (spec.defaults, data.defaults):
        unknown = set(defaults) - set(HYPERPARAMETERS)
        assert not unknown, (f"{where}: defaults name unknown hyperparameters {sorted(unknown)}; "
                             f"known: {', '.join(HYPERPARAMETERS)}")
    for field_name in ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test", "valid_slices",
                       "test_slices"):
        first, second = getattr(data, field_name), getattr(again, field_name)
        assert (first is None and second is None) or np.array_equal(first, second), (
            f"{where}: two builds with the same options give different {field_name}; seed any randomness so "
            "runs can be reproduced")
    if not spec.causal:
        offset = _future_offset(np.asarray(data.x_train), np.asarray(data.y_train))
        assert offset is None, (
            f"{where}: declared causal=False, but every target is the input {offset} step(s) later, so a "
            "bidirectional variant would read the answer; declare causal=True")
