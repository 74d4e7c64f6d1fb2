"""`bench list`'s text: cells and tasks with where they came from. Imports neither torch nor pandas."""
from __future__ import annotations

from .text_tables import aligned
from ..registry.loading import Registry
from ..planning.tasks import task_options


def format_listing(registry: Registry) -> str:
    """`bench list`: cells, tasks, then plugins."""
    cells = [["cell", "backend", "variants", "plugin", "description"]] + [
        [name, entry.spec.backend, "native" if entry.spec.native_variants else "composed", entry.plugin,
         entry.spec.description]
        for name, entry in sorted(registry.cells.items())
    ]
    tasks = [["task", "causal", "defaults", "options", "plugin", "description"]] + [
        [name, "yes" if entry.spec.causal else "no",
         " ".join(f"{key}={value}" for key, value in entry.spec.defaults.items()) or "-",
         " ".join(f"{key}={value!r}" if value is not None else key
                  for key, value in task_options(entry.spec).items()) or "-",
         entry.plugin, entry.spec.description]
        for name, entry in sorted(registry.tasks.items())
    ]
    return "\n".join(["Cells:", *aligned(cells), "", "Tasks:", *aligned(tasks), "", format_plugins(registry)])


def _registered(registry: Registry, plugin: str) -> str:
    cells, tasks = registry.registered_by(plugin)
    parts = [f"{label}: {', '.join(names)}" for label, names in (("cells", cells), ("tasks", tasks)) if names]
    return "; ".join(parts) or "nothing"


def format_plugins(registry: Registry) -> str:
    """Every plugin tried, with its version, origin, and what it registered (or why it did not load)."""
    rows = [["plugin", "version", "status", "registered", "origin"]] + [
        [info.name, info.version or "-", info.status,
         _registered(registry, info.name) if info.status == "loaded" else info.error or "-", info.origin]
        for info in registry.plugins
    ]
    return "\n".join(["Plugins:", *aligned(rows)])
