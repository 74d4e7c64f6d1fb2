"""The `bench` command: one module per command, each only parsing, calling and printing.

Heavy imports (torch, pandas) stay inside the commands, so `bench --help` and `bench list` start fast.
"""
from __future__ import annotations

import atexit
import functools
import gc

import click

from ..errors import BenchInputError, describe_os_error
from .compare import compare_command
from .export import export_command
from .listing import list_command, plugins_command
from .report import best_command, report_command
from .repro import repro_group
from .run import run_command
from .sample import sample_command


class InputError(click.ClickException):
    """Bad input: one message on stderr, exit code 2."""

    exit_code = 2


class BenchGroup(click.Group):
    """Turns bad-input and file-system errors raised anywhere below a command into exit code 2 without a
    traceback, and offers the commands plugins add (loaded only for a name not built in, or to list them all)."""

    @functools.cached_property
    def plugin_commands(self) -> dict[str, click.Command]:
        from ..registry.declared import plugins_may_be_installed

        if not plugins_may_be_installed():
            return {}  # the built-ins add no commands
        from ..registry.loading import plugin_commands

        try:
            return plugin_commands(self.commands)
        except BenchInputError as exc:  # strict plugins: `bench --help` answers like any command, outside invoke
            raise InputError(str(exc)) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *sorted(self.plugin_commands)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self.plugin_commands.get(name)

    def invoke(self, ctx: click.Context) -> object:
        # Python's last garbage collections at exit walk every object the imports made: after torch, 1-2 s of a
        # user's wait on a 2-core machine. Frozen objects are skipped; registered here, before the command adds any
        # handler of its own (they run last-registered first), it runs after them and freezes what they leave too.
        atexit.unregister(gc.freeze)  # once, however many commands run in this process (tests run many)
        atexit.register(gc.freeze)
        try:
            return super().invoke(ctx)
        except BenchInputError as exc:
            raise InputError(str(exc)) from None
        except OSError as exc:  # a folder that cannot be written, a full disk: the path and the cause, no traceback
            raise InputError(describe_os_error(exc)) from None


@click.group(cls=BenchGroup)
@click.version_option(package_name="benchsuite")
def main() -> None:
    """Benchmark recurrent cells on char-level tasks: train, measure, record."""


for command in (run_command, list_command, plugins_command, compare_command, report_command, sample_command,
                best_command, repro_group, export_command):
    main.add_command(command)
