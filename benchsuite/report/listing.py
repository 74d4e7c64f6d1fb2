"""`bench list`'s text: cells and tasks with where they came from. Imports neither torch nor pandas."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..planning.cells import cell_options
from ..planning.options import PRECEDENCE, SUITE_DEFAULTS
from ..planning.parsers import shown_options
from ..planning.tasks import task_options
from ..registry.loading import Registry
from ..results.naming import aligned

if TYPE_CHECKING:
    from ..registry.check import PluginCheck


def format_listing(registry: Registry) -> str:
    """`bench list`: cells, tasks, then plugins."""
    cells = [["cell", "backend", "variants", "defaults", "options", "plugin", "description"]] + [
        [name, entry.spec.backend, "native" if entry.spec.native_variants else "composed",
         _pairs(entry.spec.defaults), shown_options(cell_options(entry.spec)), entry.plugin, entry.spec.description]
        for name, entry in sorted(registry.cells.items())
    ]
    tasks = [["task", "causal", "defaults", "options", "plugin", "description"]] + [
        [name, "yes" if entry.spec.causal else "no",
         _pairs(entry.spec.defaults),
         shown_options(task_options(entry.spec)),
         entry.plugin, entry.spec.description]
        for name, entry in sorted(registry.tasks.items())
    ]
    return "\n".join(["Cells:", *aligned(cells), "", "Tasks:", *aligned(tasks), "", _precedence(), "",
                      format_plugins(registry)])


def _pairs(values: Mapping[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in values.items()) or "-"


def _precedence() -> str:
    """Where each hyperparameter of a row comes from, for the defaults shown above."""
    return (f"Hyperparameters: {PRECEDENCE}.\nSuite defaults: {_pairs(SUITE_DEFAULTS)} (batch_size None: full "
            "batch; clip None: no clipping).\nOptions: --cell-opt CELL.KEY=VALUE for a cell's, --task-opt "
            "TASK.KEY=VALUE for a task's.")


def _registered(registry: Registry, plugin: str) -> str:
    return _names(*registry.registered_by(plugin), registry.exporters_of(plugin))


def _names(cells: Sequence[str], tasks: Sequence[str], exporters: Sequence[str] = ()) -> str:
    parts = [f"{label}: {', '.join(names)}" for label, names in (("cells", cells), ("tasks", tasks),
                                                                   ("exporters", exporters)) if names]
    return "; ".join(parts) or "nothing"


def format_plugins(registry: Registry) -> str:
    """Every plugin tried, with its version, origin, and what it registered (or why it did not load)."""
    rows = [["plugin", "version", "status", "registered", "origin"]] + [
        [info.name, info.version or "-", info.status,
         _registered(registry, info.name) if info.status == "loaded" else info.error or "-", info.origin]
        for info in registry.plugins
    ]
    return "\n".join(["Plugins:", *aligned(rows)])


def format_checks(checks: Sequence[PluginCheck]) -> str:
    """`bench plugins --check`: each plugin as it loaded alone in a child process."""
    rows = [["plugin", "status", "registered", "origin"]] + [
        [check.name, check.status, _names(check.cells, check.tasks) if check.status == "loaded" else check.error or "-",
         check.origin] for check in checks]
    return "\n".join(["Plugins, each loaded alone in a child process:", *aligned(rows)])
