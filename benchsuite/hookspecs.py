"""The hooks a benchsuite plugin implements, and the markers to implement them with.

A plugin is a module (or any object) with functions decorated by `benchsuite.hookimpl` and named
after a hook below. An implementation may take the hook's arguments by name or none of them; a
misspelled hook name or an unknown argument makes the plugin fail to load (named in a warning).
Each hook is called once per plugin, when the registry is first needed (`register_commands` when `bench` looks for
a command it does not have built in, or lists them all). `bench list` loads every
plugin and must stay fast, so a plugin module imports torch (or numpy) only inside `build`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

from .specs import CellSpec, ExporterSpec, Sink, TaskSpec

if TYPE_CHECKING:
    import click

PROJECT = "benchsuite"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_cells(register: Callable[[CellSpec], None]) -> None:
    """Offer recurrent cells: call `register(CellSpec(...))` once for each.

    `register(spec: CellSpec) -> None` accepts only `CellSpec` objects. A cell name must be new:
    one that another plugin registered is an error naming both plugins. If the implementation
    raises, every spec this plugin registered (cells and tasks) is dropped and the plugin is
    reported as failed.
    """


@hookspec
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Offer char-level tasks: call `register(TaskSpec(...))` once for each.

    `register(spec: TaskSpec) -> None` accepts only `TaskSpec` objects; the same naming and
    failure rules as `register_cells` apply. `TaskSpec.build` should be cheap to reference: it
    runs only when a task is used, not when it is listed.
    """


@hookspec
def register_sinks(register: Callable[[Sink], None]) -> None:
    """Listen to every run: call `register(sink)` with a `benchsuite.Sink` (called once per process, for all runs).

    The run folder's files are written first; a sink that raises is named on stderr and in errors.log and gets no
    more events that run, which goes on with every row kept.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to `bench`: decorate functions with `@cli.command()` (installed plugins only; import heavy
    libraries inside the command). A name `bench` already has is left out with a warning."""


@hookspec
def register_exporters(register: Callable[[ExporterSpec], None]) -> None:
    """Offer experiment trackers to export runs to: call `register(ExporterSpec(...))` once for each (import the
    tracker's library inside `open`, so `bench --help` stays fast). A name another plugin registered first stays
    theirs; this one is skipped with a warning."""
