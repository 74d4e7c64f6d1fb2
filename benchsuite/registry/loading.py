"""The plugin manager: built-in plugins, then entry points, then loose files, each isolated from the others.

A plugin that fails to import, fails pluggy's validation, or raises while registering is named in one
warning on stderr and loses everything it registered; the others load. `BENCHSUITE_STRICT_PLUGINS=1`
turns that warning into an error, and `BENCHSUITE_DISABLE_PLUGINS=a,b` skips plugins without importing them.
`BENCHSUITE_LOAD_PLUGINS=a,b`, when set, loads only the entry-point plugins it names (empty: none), so a test suite
or a reproduction does not depend on what else is installed; built-ins and --plugins-dir files load regardless.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Generic, Iterable, TypeVar

from ..backends import BACKEND_MODULES
from ..errors import BenchInputError, unknown_name
from ..specs import NAME_RULE, CellSpec, ExporterSpec, Sink, TaskSpec, qualified_name, valid_name
from ..version import __version__
from .declared import ENTRY_POINT_GROUP

if TYPE_CHECKING:
    import click
    import pluggy


# Each built-in plugin's module, by plugin name (runs.csv's cell_plugin/task_plugin): a hook module's own name.
BUILTIN_MODULES = {name: f"benchsuite_plugins.{group}.{name}"
                   for group, names in (("cells", ("torch_cells", "numpy_rnn", "baseline_cells")),
                                        ("tasks", ("seed_tasks", "char_tasks", "memory_tasks", "formal_tasks",
                                                   "chomsky_tasks")),
                                        ("exporters", ("trackers",)))
                   for name in names}
BUILTIN_PLUGINS = tuple(BUILTIN_MODULES)
STRICT_ENV = "BENCHSUITE_STRICT_PLUGINS"
DISABLE_ENV = "BENCHSUITE_DISABLE_PLUGINS"
LOAD_ENV = "BENCHSUITE_LOAD_PLUGINS"
# Each hook and the kind of spec its `register` accepts.
HOOK_KINDS = {"register_cells": CellSpec, "register_tasks": TaskSpec, "register_sinks": Sink,
              "register_exporters": ExporterSpec}
Spec = TypeVar("Spec", CellSpec, TaskSpec, Sink, ExporterSpec)


class PluginError(BenchInputError):
    """A plugin that cannot be used while BENCHSUITE_STRICT_PLUGINS is set."""


@dataclass(frozen=True)
class Registered(Generic[Spec]):
    """A spec together with the plugin that registered it."""

    spec: Spec
    plugin: str


@dataclass(frozen=True)
class PluginSource:
    """A plugin to try: its name, where it comes from, its version, and how to import it."""

    name: str
    origin: str  # "built-in", "entry point of <distribution>", or a file path
    version: str
    load: Callable[[], object]
    distribution: str = ""  # the installed distribution an entry point comes from


@dataclass
class PluginInfo:
    """What became of one plugin: loaded, failed (with the reason) or disabled."""

    name: str
    origin: str
    version: str
    status: str = "loaded"
    error: str = ""
    distribution: str = ""


@dataclass
class Registry:
    """Every cell and task the loaded plugins registered, by name, and every plugin that was tried."""

    cells: dict[str, Registered[CellSpec]] = field(default_factory=dict)
    tasks: dict[str, Registered[TaskSpec]] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    manager: pluggy.PluginManager | None = field(default=None, repr=False)  # for hooks called on demand
    sinks: list[Registered[Sink]] = field(default_factory=list)  # in load order, after the run folder's own
    exporters: dict[str, Registered[ExporterSpec]] = field(default_factory=dict)

    def cell(self, name: str) -> CellSpec:
        if name not in self.cells:
            raise unknown_name("cell", name, self.cells)
        return self.cells[name].spec

    def task(self, name: str) -> TaskSpec:
        if name not in self.tasks:
            raise unknown_name("task", name, self.tasks)
        return self.tasks[name].spec

    def exporter(self, name: str) -> ExporterSpec:
        if name not in self.exporters:
            raise unknown_name("exporter", name, self.exporters)
        return self.exporters[name].spec

    def provenance(self, cell: str, task: str) -> dict[str, str]:
        """The plugin (and its version) that registered `cell` and the one that registered `task`, for a row."""
        versions = {info.name: info.version for info in self.plugins}
        fields = {}
        for kind, entry in (("cell", self.cells.get(cell)), ("task", self.tasks.get(task))):
            plugin = "" if entry is None else entry.plugin
            fields.update({f"{kind}_plugin": plugin, f"{kind}_plugin_version": versions.get(plugin, "")})
        return fields

    def registered_by(self, plugin: str) -> tuple[list[str], list[str]]:
        """The names of the cells and of the tasks `plugin` registered."""
        return ([name for name, entry in self.cells.items() if entry.plugin == plugin],
                [name for name, entry in self.tasks.items() if entry.plugin == plugin])

    def exporters_of(self, plugin: str) -> list[str]:
        """The names of the exporters `plugin` registered."""
        return [name for name, entry in self.exporters.items() if entry.plugin == plugin]

    def add(self, specs: Iterable[CellSpec | TaskSpec | Sink | ExporterSpec], plugin: str,
            strict: bool = False) -> None:
        """Add one plugin's specs and sinks. A name an earlier plugin took stays theirs, and this plugin's spec is
        renamed `PLUGIN:NAME` (specs.qualified_name) with a warning naming both (an error if `strict`); so a clash
        costs one name, not the tool. Where that name is taken too, or unusable, the spec is skipped. An exporter's
        name is what `--export` is given, never qualified: a clash skips the later one."""
        for spec in specs:
            if not isinstance(spec, (CellSpec, TaskSpec, ExporterSpec)):
                self.sinks.append(Registered(spec, plugin))
                continue
            table, kind = {CellSpec: (self.cells, "cell"), TaskSpec: (self.tasks, "task"),
                           ExporterSpec: (self.exporters, "exporter")}[type(spec)]
            if spec.name in table:
                first, qualified = table[spec.name].plugin, qualified_name(plugin, spec.name)
                clash = f"plugin {plugin!r} registered {kind} {spec.name!r}, which plugin {first!r} registered first"
                if strict:
                    raise PluginError(f"{clash} ({STRICT_ENV} is set; disable one with {DISABLE_ENV}={plugin})")
                if isinstance(spec, ExporterSpec) or qualified is None or qualified in table:
                    why = ("an exporter keeps its first name" if isinstance(spec, ExporterSpec) else
                           f"{qualified!r} is taken too" if qualified else
                           f"the plugin's name cannot qualify it (a name must be {NAME_RULE})")
                    _warn(f"{clash}; skipped: {why}")
                    continue
                _warn(f"{clash}; the one from plugin {plugin!r} is named {qualified!r}")
                spec = replace(spec, name=qualified)
            table[spec.name] = Registered(spec, plugin)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def load_plugin_file(path: Path) -> ModuleType:
    """A loose plugin file, imported as `--plugins-dir` imports each of its files."""
    module_name = f"benchsuite_loose_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _entry_point_sources() -> list[PluginSource]:
    """Installed plugins, or only those BENCHSUITE_LOAD_PLUGINS allows when it is set."""
    allowed = _env_names(LOAD_ENV) if LOAD_ENV in os.environ else None
    sources = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and ep.name not in allowed:
            continue
        dist = getattr(ep, "dist", None)
        origin = f"entry point of {dist.name}" if dist is not None else f"entry point {ep.value}"
        sources.append(PluginSource(ep.name, origin, dist.version if dist is not None else "", ep.load,
                                    dist.name if dist is not None else ""))
    return sources


def plugin_sources(plugins_dir: str | None = None) -> list[PluginSource]:
    """Every plugin to try, in load order: built-ins, entry points, loose files in `plugins_dir`."""
    sources = [PluginSource(name, "built-in", __version__, functools.partial(importlib.import_module, module))
               for name, module in BUILTIN_MODULES.items()]
    sources += _entry_point_sources()
    if plugins_dir is not None:
        sources += [PluginSource(path.stem, str(path), "", functools.partial(load_plugin_file, path))
                    for path in loose_plugin_files(plugins_dir)]
    return sources


def loose_plugin_files(plugins_dir: str) -> list[Path]:
    """The plugin files of a --plugins-dir, in name order: its regular files named *.py (a folder so named is
    none). Every executor loads these and only these, wherever its jobs run."""
    folder = Path(plugins_dir)
    if not folder.is_dir():
        raise BenchInputError(f"--plugins-dir {plugins_dir!r} is not a folder")
    return sorted(path for path in folder.glob("*.py") if path.is_file())


def new_manager() -> pluggy.PluginManager:
    """A plugin manager that knows benchsuite's hooks and nothing else."""
    import pluggy

    from .. import hookspecs

    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    return manager


def collect_specs(manager: pluggy.PluginManager, plugin: str, strict: bool = False
                  ) -> list[CellSpec | TaskSpec | Sink | ExporterSpec]:
    """Call `plugin`'s registration hooks alone and return what it registered, checked for type.

    Hooks are called one plugin at a time (not through pluggy's fan-out) so that a plugin that
    raises loses only its own specs. A spec with an unusable name is skipped with a warning (an error if `strict`).
    """
    specs: list[CellSpec | TaskSpec | Sink | ExporterSpec] = []
    for hook_name, kind in HOOK_KINDS.items():
        def register(spec: Any, kind: type = kind, hook_name: str = hook_name) -> None:
            if not isinstance(spec, kind):
                raise TypeError(f"{hook_name} must register {kind.__name__} objects, got {type(spec).__name__}")
            if kind is Sink:  # a sink has no name: the plugin's names it
                specs.append(spec)
                return
            if isinstance(spec, CellSpec) and spec.backend not in BACKEND_MODULES:
                raise ValueError(f"cell {spec.name!r} names backend {spec.backend!r}; "
                                 f"known backends: {', '.join(sorted(BACKEND_MODULES))}")
            if not valid_name(spec.name):
                message = (f"plugin {plugin!r} registered a {kind.__name__} named {spec.name!r}; a name must be "
                           f"{NAME_RULE}")
                if strict:
                    raise PluginError(f"{message} ({STRICT_ENV} is set)")
                _warn(f"{message}; skipped")
                return
            specs.append(spec)

        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            if impl.plugin_name == plugin:
                impl.function(**{arg: register for arg in impl.argnames})
    return specs


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_names(name: str) -> set[str]:
    return {item.strip() for item in os.environ.get(name, "").split(",") if item.strip()}


def _fail(info: PluginInfo, exc: BaseException, strict: bool) -> None:
    info.status, info.error = "failed", f"{type(exc).__name__}: {exc}"
    if strict:
        raise PluginError(f"plugin {info.name!r} ({info.origin}) failed to load: {info.error} "
                          f"({STRICT_ENV} is set; unset it to skip broken plugins with a warning)") from None
    _warn(f"plugin {info.name!r} ({info.origin}) failed to load and was skipped: {info.error}")


def load_registry(plugins_dir: str | None = None, *, strict: bool | None = None,
                  disabled: Iterable[str] | None = None) -> Registry:
    """Load every plugin; `strict` and `disabled` default to the environment variables."""
    strict = _env_flag(STRICT_ENV) if strict is None else strict
    disabled = _env_names(DISABLE_ENV) if disabled is None else set(disabled)
    manager = new_manager()
    registry = Registry(manager=manager)
    origins: dict[str, str] = {}
    for source in plugin_sources(plugins_dir):
        if source.name in origins:
            raise BenchInputError(f"two plugins are called {source.name!r}: {origins[source.name]} and "
                                  f"{source.origin}; rename one or disable it with {DISABLE_ENV}")
        origins[source.name] = source.origin
        info = PluginInfo(source.name, source.origin, source.version, distribution=source.distribution)
        registry.plugins.append(info)
        if source.name in disabled:
            info.status = "disabled"
            continue
        try:
            plugin = source.load()
            manager.register(plugin, name=source.name)
        except (Exception, SystemExit) as exc:  # a broken plugin (even one calling exit) must not harm the others
            _fail(info, exc, strict)
            continue
        try:
            manager.check_pending()  # a hook this plugin misspelled would otherwise be ignored silently
            specs = collect_specs(manager, source.name, strict)
        except PluginError:
            raise
        except Exception as exc:
            manager.unregister(name=source.name)
            _fail(info, exc, strict)
            continue
        info.version = info.version or str(getattr(plugin, "__version__", ""))
        registry.add(specs, source.name, strict)
    unknown = disabled - set(origins)
    if unknown:
        _warn(f"{DISABLE_ENV} names no known plugin: {', '.join(sorted(unknown))} "
              f"(plugins: {', '.join(origins)})")
    return registry


@functools.cache
def get_registry(plugins_dir: str | None = None) -> Registry:
    """The registry for this process, loaded once per plugins folder."""
    return load_registry(plugins_dir)


def plugin_commands(taken: Iterable[str]) -> dict[str, click.Command]:
    """The commands plugins add to `bench` through `register_commands`, by name. A plugin whose hook raises, or whose
    command has a name in `taken` (or another plugin's), is named in a warning and that command is left out."""
    if not _entry_point_sources():
        return {}  # the built-ins add no commands: with nothing installed there is nothing to load
    import click

    strict = _env_flag(STRICT_ENV)
    commands: dict[str, click.Command] = {}
    owners = dict.fromkeys(taken, "benchsuite")
    manager = get_registry().manager
    for impl in manager.hook.register_commands.get_hookimpls():
        offered = click.Group()  # each plugin adds to a group of its own, so a failure costs only its commands
        try:
            impl.function(**{arg: offered for arg in impl.argnames})
        except Exception as exc:
            message = f"plugin {impl.plugin_name!r} failed to add its commands: {type(exc).__name__}: {exc}"
            if strict:
                raise PluginError(f"{message} ({STRICT_ENV} is set)") from None
            _warn(f"{message}; they are left out")
            continue
        for name, command in offered.commands.items():
            if name in owners:
                _warn(f"plugin {impl.plugin_name!r} adds a command {name!r}, which {owners[name]} already has; "
                      "it is left out")
                continue
            owners[name], commands[name] = f"plugin {impl.plugin_name!r}", command
    return commands
