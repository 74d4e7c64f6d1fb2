"""Every hook in benchsuite.hookspecs: documented (in docs/plugins.md too), typed, and exercised through the real
plugin manager."""
from __future__ import annotations

import dataclasses
import inspect
import re
import sys
from pathlib import Path

import click
import pytest

from benchsuite import CellConfig, CellSpec, ExporterSpec, Sink, TaskData, TaskSpec, hookimpl, hookspecs
from benchsuite.registry.loading import Registry, collect_specs, new_manager

PLUGINS_DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def hook_specs() -> dict[str, object]:
    marker = f"{hookspecs.PROJECT}_spec"
    return {name: function for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
            if hasattr(function, marker)}


def test_every_hook_has_a_test_and_a_documented_signature() -> None:
    specs = hook_specs()
    assert set(specs) == {"register_cells", "register_tasks", "register_sinks", "register_commands",
                          "register_exporters"}
    module = sys.modules[__name__]
    for name, function in specs.items():
        assert callable(getattr(module, f"test_hook_{name}", None)), f"hook {name} has no test_hook_{name}"
        signature = inspect.signature(function)
        assert len(signature.parameters) == 1
        assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values())
        (argument,) = signature.parameters
        doc = inspect.getdoc(function)
        assert doc and f"{argument}" in doc.splitlines()[0], f"hook {name} must say in one line how to use it"


def documented_signature(function: object) -> str:
    """`name(arg: Type) -> None` as the hook reference writes it, from the hook's own source annotations."""
    signature = inspect.signature(function)
    arguments = ", ".join(f"{name}: {parameter.annotation}".replace('"', "").replace("'", "")
                          for name, parameter in signature.parameters.items())
    return f"{function.__name__}({arguments}) -> {signature.return_annotation}"


def test_every_hook_is_in_the_hook_reference_with_its_signature() -> None:
    """docs/plugins.md's hook reference names every hook of hookspecs.py with the signature it has there, and no
    other (datasette's docs test)."""
    doc = PLUGINS_DOC.read_text(encoding="utf-8")
    reference = doc[doc.index("## Hook reference"):]
    specs = hook_specs()
    for function in specs.values():
        assert f"`{documented_signature(function)}`" in reference, documented_signature(function)
    assert set(re.findall(r"^\| `(register_\w+)\(", reference, flags=re.MULTILINE)) == set(specs)


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


def test_hook_register_sinks() -> None:
    class Listening(Sink):
        pass

    class Plugin:
        @hookimpl
        def register_sinks(self, register):
            register(Listening())

    (sink,) = _collect(Plugin())
    assert isinstance(sink, Listening) and isinstance(sink, Sink)


def test_hook_register_sinks_refuses_what_is_not_a_sink() -> None:
    class Plugin:
        @hookimpl
        def register_sinks(self, register):
            register(object())

    with pytest.raises(TypeError, match="register_sinks must register Sink objects, got object"):
        _collect(Plugin())


def test_hook_register_exporters() -> None:
    """An exporter is registered by name; a name another plugin took first stays theirs (`--export` names it), and a
    name the command line cannot give is skipped. (tests/sinks/test_exporters.py exports through one.)"""
    class Plugin:
        @hookimpl
        def register_exporters(self, register):
            register(ExporterSpec("mine", lambda destination: Sink(), "a store", default_destination="mine.db"))
            register(ExporterSpec("mlflow", lambda destination: Sink()))
            register(ExporterSpec("not a name", lambda destination: Sink()))

    specs = _collect(Plugin())
    assert [(spec.name, spec.default_destination) for spec in specs] == [("mine", "mine.db"), ("mlflow", "")]
    first = ExporterSpec("mlflow", lambda destination: Sink())
    registry = Registry()
    registry.add([first], "trackers")
    registry.add(specs, "plugin")
    assert registry.exporter("mlflow") is first and registry.exporter("mine") is specs[0]
    assert registry.exporters_of("plugin") == ["mine"]


def test_hook_register_commands() -> None:
    """The hook gets a click group and adds commands to it (how `bench` offers them: tests/cli/test_plugin_commands.py
    runs one through `bench`)."""
    class Plugin:
        @hookimpl
        def register_commands(self, cli):
            @cli.command()
            def hello():
                """Say hello."""

    manager = new_manager()
    manager.register(Plugin())
    manager.check_pending()
    group = click.Group()
    for impl in manager.hook.register_commands.get_hookimpls():
        impl.function(cli=group)
    assert list(group.commands) == ["hello"] and group.commands["hello"].help == "Say hello."


def test_hook_implementation_may_take_no_arguments() -> None:
    class Quiet:
        @hookimpl
        def register_cells(self):
            self.called = True

    plugin = Quiet()
    assert _collect(plugin) == [] and plugin.called


@pytest.mark.parametrize("spec_type", [CellSpec, CellConfig, TaskSpec, TaskData])
def test_every_field_of_the_plugin_types_is_documented(spec_type: type) -> None:
    """docs/plugins.md names every field a plugin author sets or reads (the block backbone's `role`,
    `needs_positions` and `CellConfig.mixer` included), as code: `name`."""
    doc = PLUGINS_DOC.read_text(encoding="utf-8")
    missing = [field.name for field in dataclasses.fields(spec_type)
               if not re.search(rf"`[^`]*\b{field.name}\b[^`]*`", doc)]
    assert not missing, f"{spec_type.__name__} fields missing from docs/plugins.md: {', '.join(missing)}"
