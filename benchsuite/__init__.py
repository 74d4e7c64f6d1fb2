"""benchsuite: a plugin-based benchmark suite for character-level sequence models.

Importing this package stays light (no torch, no pandas, not even pluggy) so that `bench --help`
and `bench list` start fast; `run` imports the heavy libraries when called.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import BenchInputError
from .version import __version__

if TYPE_CHECKING:
    from pathlib import Path

    from .hookspecs import hookimpl
    from .results.load import RunResult
    from .sinks.export import ExportedRow, Exporter
    from .specs import CellConfig, CellSpec, ExporterSpec, Sink, TaskData, TaskSpec

__all__ = ["__version__", "BenchInputError", "CellConfig", "CellSpec", "ExportedRow", "Exporter", "ExporterSpec",
           "RunResult", "Sink", "TaskData", "TaskSpec", "get_cell", "get_task", "hookimpl", "load_run", "run"]


# Public names imported on first use: `bench --help` imports this package, and pluggy (for `hookimpl`) would cost
# about a third of that start, the specs' dataclasses about a sixth.
LAZY_EXPORTS = {"hookimpl": "hookspecs", "RunResult": "results.load", "CellConfig": "specs", "CellSpec": "specs",
                "Sink": "specs", "TaskData": "specs", "TaskSpec": "specs", "ExporterSpec": "specs",
                "Exporter": "sinks.export", "ExportedRow": "sinks.export"}


def __getattr__(name: str) -> Any:
    if name in LAZY_EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{LAZY_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'benchsuite' has no attribute {name!r}")


def get_cell(name: str) -> CellSpec:
    """The registered cell called `name` (raises BenchInputError listing the known ones)."""
    from .registry.loading import get_registry

    return get_registry().cell(name)


def get_task(name: str) -> TaskSpec:
    """The registered task called `name` (raises BenchInputError listing the known ones)."""
    from .registry.loading import get_registry

    return get_registry().task(name)


def run(tasks: Any = None, cells: Any = None, **options: Any) -> RunResult:
    """Run the grid from Python and return its `RunResult` (`.runs` the runs table, `.run_dir`, `.meta`, ...); options
    are `bench run`'s, by keyword (`resume="results/<run-id>"` finishes an interrupted run)."""
    from .sweep import run as run_grid

    return run_grid(tasks=tasks, cells=cells, **options)


def load_run(run_dir: str | Path) -> RunResult:
    """A run folder read back, typed: `.runs`, `.summary`, `.curves`, `.samples`, `.slices` and `.meta`."""
    from .results.load import load_run as load

    return load(run_dir)
