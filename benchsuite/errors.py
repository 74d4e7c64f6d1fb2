"""Errors the command line turns into one message and exit code 2."""
from __future__ import annotations

import difflib
import signal
from typing import Iterable


class BenchInputError(ValueError):
    """Bad input from the user: an unknown name, a bad value, an unreadable file, a missing device."""


def unknown_name(kind: str, name: str, known: Iterable[str]) -> BenchInputError:
    """An error for an unknown task/cell name that lists the known ones and suggests a close match."""
    known = sorted(known)
    message = f"unknown {kind} {name!r}; known {kind}s: {', '.join(known) or '(none)'}"
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    return BenchInputError(message)


def describe_exit(code: int) -> str:
    """'exit code 3', or 'exit code -9 (SIGKILL)' for a child process ended by a signal."""
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"exit code {code} ({signal.Signals(-code).name})"
    except ValueError:
        return f"exit code {code} (signal {-code})"


def describe_os_error(exc: OSError) -> str:
    """'PATH: cause' for a file-system error, e.g. '/data/runs.csv: No space left on device'."""
    cause = exc.strerror or str(exc)
    return f"{exc.filename}: {cause}" if exc.filename is not None else cause


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run: the finished rows are on disk, the row in flight was dropped."""

    def __init__(self, run_dir: str, finished: int, total: int, resume: str | None = None) -> None:
        super().__init__(run_dir, finished, total)
        self.run_dir, self.finished, self.total = run_dir, finished, total
        self.resume = resume or f"bench run --resume {run_dir}"  # the command that finishes the run

    def __str__(self) -> str:
        return (f"interrupted: {self.finished} of {self.total} rows finished and are kept in {self.run_dir}/runs.csv; "
                f"the row in flight was dropped. Finish the run with: {self.resume}")
