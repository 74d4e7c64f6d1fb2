"""The plugin manager: built-in plugins, then entry points, then loose files, each isolated from the others."""
from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Callable, Generic, TypeVar

import pluggy

from . import hookspecs
from .errors import BenchInputError, unknown_name
from .specs import CellSpec, TaskSpec

BUILTIN_PLUGINS = ("torch_cells", "numpy_rnn", "seed_tasks")
Spec = TypeVar("Spec", CellSpec, TaskSpec)


@dataclass(frozen=True)
class Registered(Generic[Spec]):
    """A spec together with the plugin that registered it."""

    spec: Spec
    plugin: str


@dataclass
class Registry:
    """Every cell and task the loaded plugins registered, by name."""

    cells: dict[str, Registered[CellSpec]] = field(default_factory=dict)
    tasks: dict[str, Registered[TaskSpec]] = field(default_factory=dict)
    plugins: list[str] = field(default_factory=list)

    def cell(self, name: str) -> CellSpec:
        if name not in self.cells:
            raise unknown_name("cell", name, self.cells)
        return self.cells[name].spec

    def task(self, name: str) -> TaskSpec:
        if name not in self.tasks:
            raise unknown_name("task", name, self.tasks)
        return self.tasks[name].spec

    def _add(self, table: dict, kind: str, spec: Spec, plugin: str) -> None:
        if not isinstance(spec, CellSpec if kind == "cell" else TaskSpec):
            raise TypeError(f"register_{kind}s must register {kind.title()}Spec objects, got {type(spec).__name__}")
        if spec.name in table:
            raise BenchInputError(
                f"{kind} {spec.name!r} is registered twice: by plugin {table[spec.name].plugin!r} "
                f"and by plugin {plugin!r}"
            )
        table[spec.name] = Registered(spec, plugin)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _load_file(path: Path) -> ModuleType:
    module_name = f"benchsuite_loose_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _plugin_sources(plugins_dir: str | None) -> list[tuple[str, Callable[[], object]]]:
    """(name, loader) for every plugin to try, in load order: built-ins, entry points, loose files."""
    sources: list[tuple[str, Callable[[], object]]] = [
        (name, functools.partial(importlib.import_module, f"benchsuite_plugins.{name}")) for name in BUILTIN_PLUGINS
    ]
    sources += [(ep.name, ep.load) for ep in entry_points(group=hookspecs.PROJECT)]
    if plugins_dir is not None:
        folder = Path(plugins_dir)
        if not folder.is_dir():
            raise BenchInputError(f"--plugins-dir {plugins_dir!r} is not a folder")
        sources += [(path.stem, functools.partial(_load_file, path)) for path in sorted(folder.glob("*.py"))]
    return sources


def load_registry(plugins_dir: str | None = None) -> Registry:
    """Load every plugin; one that fails to import or register is named on stderr and skipped."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    registry = Registry()
    for name, load in _plugin_sources(plugins_dir):
        try:
            manager.register(load(), name=name)
        except Exception as exc:  # a broken plugin must not take the others down
            _warn(f"plugin {name!r} failed to load and was skipped: {type(exc).__name__}: {exc}")
            continue
        registry.plugins.append(name)
    # Each implementation is called on its own so that one failing plugin loses only its own specs.
    for kind, table, hook in (("cell", registry.cells, manager.hook.register_cells),
                              ("task", registry.tasks, manager.hook.register_tasks)):
        for impl in reversed(hook.get_hookimpls()):  # pluggy lists last-registered first
            register = functools.partial(registry._add, table, kind, plugin=impl.plugin_name)
            try:
                impl.function(register=register)
            except BenchInputError:
                raise
            except Exception as exc:
                _warn(f"plugin {impl.plugin_name!r} failed in register_{kind}s: {type(exc).__name__}: {exc}")
    return registry


@functools.lru_cache(maxsize=None)
def get_registry(plugins_dir: str | None = None) -> Registry:
    """The registry for this process, loaded once per plugins folder."""
    return load_registry(plugins_dir)
