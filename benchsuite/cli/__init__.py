"""The `bench` command: one module per command, each only parsing, calling and printing.

Heavy imports (torch, pandas) stay inside the commands, so `bench --help` and `bench list` start fast.
"""
from __future__ import annotations

import click

from ..errors import BenchInputError, describe_os_error
from .compare import compare_command
from .listing import list_command, plugins_command
from .report import best_command, report_command
from .run import run_command
from .sample import sample_command


class InputError(click.ClickException):
    """Bad input: one message on stderr, exit code 2."""

    exit_code = 2


class BenchGroup(click.Group):
    """Turns bad-input and file-system errors raised anywhere below a command into exit code 2 without a
    traceback."""

    def invoke(self, ctx: click.Context) -> object:
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
                best_command):
    main.add_command(command)
