"""The hooks a benchsuite plugin implements, and the markers to implement them with."""
from __future__ import annotations

from typing import Callable

import pluggy

from .specs import CellSpec, TaskSpec

PROJECT = "benchsuite"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_cells(register: Callable[[CellSpec], None]) -> None:
    """Call `register(CellSpec(...))` once for each cell this plugin offers."""


@hookspec
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Call `register(TaskSpec(...))` once for each task this plugin offers."""
