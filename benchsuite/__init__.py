"""benchsuite: a plugin-based benchmark suite for character-level sequence models.

Importing this package stays light (no torch, no pandas, not even pluggy) so that `bench --help`
and `bench list` start fast; `run` imports the heavy libraries when called.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import BenchInputError
from .specs import CellConfig, CellSpec, Sink, TaskData, TaskSpec
from .version import __version__

if TYPE_CHECKING:
    from pathlib import Path

    from .hookspecs import hookimpl
    from .results.load import RunResult

__all__ = ["__version__", "BenchInputError", "CellConfig", "CellSpec", "RunResult", "Sink", "TaskData", "TaskSpec",
           "get_cell", "get_task", "hookimpl", "load_run", "run"]


def __getattr__(name: str) -> Any:
    # `hookimpl` needs pluggy, which costs about a third of `bench --help`'s start: import it on first use.
    if name == "hookimpl":
        from .hookspecs import hookimpl

        return hookimpl
    if name == "RunResult":
        from .results.load import RunResult

        return RunResult
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
