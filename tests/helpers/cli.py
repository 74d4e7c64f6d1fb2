"""Invoke `bench` in-process, and the one check of what bad input must look like."""
from __future__ import annotations

from click.testing import CliRunner, Result

from benchsuite.cli import main

# Click's usage errors (a value a Click type refuses) print these around their one "Error:" line.
USAGE_HINT = ("Usage: ", "Try '")


def invoke(*args: object) -> Result:
    """`bench ARGS...` in this process; an exception that escapes the CLI fails the test with its traceback."""
    return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)


def assert_bad_input(result: Result, *fragments: str) -> str:
    """Exit code 2 and one error line holding every fragment, no traceback; returns that line. Warnings printed
    before it (a run that stopped on a full disk has said what it was doing) are not errors."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # Click's clean exit, not an escaped error
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines()
             if line.strip() and not line.startswith((*USAGE_HINT, "warning: "))]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]
