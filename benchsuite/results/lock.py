"""A run folder has one writer: the run or resume that holds the exclusive lock on its `.lock` file.

The lock is the kernel's (flock), so it ends with the process that holds it, however that process ends: a killed
run never leaves a folder locked (only its `.lock` file, which the next writer takes over). The file says who holds
it, for the message a second writer gets; a writer that ends removes it.
"""
from __future__ import annotations

import fcntl
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from ..errors import BenchInputError
from .files import NO_FOLLOW

LOCK_FILE = ".lock"


class RunLock:
    """Hold `run_dir`'s lock for the life of a `with` block; another holder makes entering it bad input."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self.descriptor: int | None = None

    def __enter__(self) -> RunLock:
        while True:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | NO_FOLLOW, 0o644)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(descriptor)
                os.close(descriptor)
                raise BenchInputError(f"{self.path.parent} is in use: {holder} is writing to it. A run folder has one "
                                      "writer at a time; wait for that run to end (or stop it), then try again"
                                      ) from None
            if _still_named(descriptor, self.path):
                break
            os.close(descriptor)  # a holder that ended removed this file after we opened it: lock the new one
        started = datetime.now(UTC).isoformat(timespec="seconds")
        holder = f"process {os.getpid()} on {socket.gethostname()} (since {started}: {' '.join(sys.argv)})".encode()
        os.pwrite(descriptor, holder, 0)  # over a killed holder's line, then cut to length: never seen empty
        os.ftruncate(descriptor, len(holder))
        self.descriptor = descriptor
        return self

    def __exit__(self, *exc: object) -> None:
        if self.descriptor is not None:
            # Removed while still held, so a finished folder keeps no lock naming a dead process; one who opened it
            # meanwhile sees it is no longer the folder's and takes the next.
            self.path.unlink(missing_ok=True)
            os.close(self.descriptor)  # closing the last descriptor releases the lock
            self.descriptor = None


def _still_named(descriptor: int, path: Path) -> bool:
    """Whether `path` still names the file open as `descriptor`."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _holder(descriptor: int) -> str:
    """Who holds the lock, as the holder wrote it; a holder that has only just taken it is given a moment."""
    for _ in range(20):
        said = os.pread(descriptor, 4096, 0).decode("utf-8", "replace").strip()
        if said:
            return said
        time.sleep(0.05)
    return "another process"
