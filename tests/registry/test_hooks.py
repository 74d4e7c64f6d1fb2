"""Every hook in benchsuite.hookspecs: documented, typed, and exercised through the real plugin manager."""
from __future__ import annotations

import inspect
import sys

from benchsuite import CellSpec, TaskData, TaskSpec, hookimpl, hookspecs
from benchsuite.registry.loading import collect_specs, new_manager


def hook_specs() -> dict[str, object]:
    marker = f"{hookspecs.PROJECT}_spec"
    return {name: function for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
            if hasattr(function, marker)}


def test_every_hook_has_a_test_and_a_documented_signature() -> None:
    specs = hook_specs()
    assert set(specs) == {"register_cells", "register_tasks"}
    module = sys.modules[__name__]
    for name, function in specs.items():
        assert callable(getattr(module, f"test_hook_{name}", None)), f"hook {name} has no test_hook_{name}"
        signature = inspect.signature(function)
        assert list(signature.parameters) == ["register"]
        assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values())
        doc = inspect.getdoc(function)
        assert doc and "register(" in doc, f"hook {name} must document how `register` is called"


class Counting:
    """A plugin object (not a module) whose hooks record how often they run."""

    def __init__(self) -> None:
        self.calls = {"register_cells": 0, "register_tasks": 0}

    @hookimpl
    def register_cells(self, register):
        self.calls["register_cells"] += 1
        register(CellSpec("hook-cell-a", "torch", lambda config: None))
        register(CellSpec("hook-cell-b", "numpy", lambda config: None, native_variants=True))

    @hookimpl
    def register_tasks(self, register):
        self.calls["register_tasks"] += 1
        register(TaskSpec("hook-task", lambda: TaskData(["a"], [[0]], [[0]]), causal=False))


def _collect(plugin: object) -> list:
    manager = new_manager()
    name = manager.register(plugin)
    manager.check_pending()
    return collect_specs(manager, name)


def test_hook_register_cells() -> None:
    plugin = Counting()
    cells = [spec for spec in _collect(plugin) if isinstance(spec, CellSpec)]
    assert [(c.name, c.backend, c.native_variants) for c in cells] == [
        ("hook-cell-a", "torch", False), ("hook-cell-b", "numpy", True)]
    assert plugin.calls["register_cells"] == 1


def test_hook_register_tasks() -> None:
    plugin = Counting()
    tasks = [spec for spec in _collect(plugin) if isinstance(spec, TaskSpec)]
    assert [(t.name, t.causal) for t in tasks] == [("hook-task", False)]
    assert tasks[0].build().vocab == ["a"]
    assert plugin.calls["register_tasks"] == 1


def test_hook_implementation_may_take_no_arguments() -> None:
    class Quiet:
        @hookimpl
        def register_cells(self):
            self.called = True

    plugin = Quiet()
    assert _collect(plugin) == [] and plugin.called
