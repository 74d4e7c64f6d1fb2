"""A process that draws a run's plots while the run's own process prints its table and writes the rest of the report.

Drawing is most of the report's wait (about 0.9 s of 1.5 s for `bench run --tasks apple,ship` here, plus 0.5 s
to import matplotlib), and a run leaves the machine's other cores idle at its end. `bench run` forks the worker
before it imports torch, while it is one thread (forking a process with threads can leave the child holding a
lock no thread will release), and the worker imports pandas and matplotlib while the run imports torch. The run
waits for it to be ready before its first row, so the worker's imports never share the machine with a timed step;
after that it sleeps on its pipe until the run's last row. It hears of the run as a sink: its `run_started` is that
wait, its `run_finished` the order to draw.

Whatever goes wrong, the run's process draws the plots itself (`drawn` returns None), so an error surfaces there
as before. The worker ends when the run's process closes its end of the pipe: when it is done, exits, or is killed.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..specs import Sink

READY = "ready"  # the worker's first message: its imports are done
# How long a run waits for its worker before going on without it: matplotlib's first import on a machine builds
# its font cache (seconds); a stuck worker must not hold the run back.
READY_SECONDS = 60


def can_fork_safely() -> bool:
    """Linux, and this process runs one thread (counted by the kernel, so native threads such as torch's count).
    macOS forks too, but its system libraries are not safe in a forked child once loaded."""
    return sys.platform == "linux" and len(os.listdir("/proc/self/task")) == 1


class PlotWorker(Sink):
    """The forked worker, seen from the run's process (start it with `plot_worker`)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self._connection, theirs = context.Pipe()
        for stream in (sys.stdout, sys.stderr):  # the child flushes what it inherited: print nothing twice
            stream.flush()
        self._process = context.Process(target=_serve, args=(theirs, self._connection), name="benchsuite-plots",
                                        daemon=True)
        self._process.start()
        theirs.close()
        self._ready, self._drawing = False, False

    def run_started(self, run_dir: Path, meta: Mapping[str, Any]) -> None:
        self._ready = self._connection.poll(READY_SECONDS) and self._receive() == READY
        if not self._ready:
            self.close()

    def run_finished(self, result: Any) -> None:
        if self._ready:
            try:
                self._connection.send(str(result.run_dir))
                self._drawing = True
            except OSError:  # the worker has gone: the run draws the plots itself
                pass

    def drawn(self) -> list[Path] | None:
        """The plots the worker drew for the finished run, or None when it drew none (the caller draws them)."""
        reply = self._receive() if self._drawing else None
        self._drawing = False
        return None if reply is None else [Path(path) for path in reply]

    def close(self) -> None:
        self._connection.close()  # the worker's cue to exit, if it waits for a run folder
        if self._ready:
            self._process.join(timeout=5)
        if self._process.is_alive():  # still importing (the run stopped at bad input), or stuck
            self._process.terminate()
            self._process.join()

    def _receive(self) -> Any:
        try:
            return self._connection.recv()
        except (EOFError, OSError):  # the worker died
            return None

    def __enter__(self) -> PlotWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def plot_worker(wanted: bool) -> Iterator[PlotWorker | None]:
    """A worker to draw the plots of the run about to start, or None where it is not `wanted` or forking one is
    not safe. Start it first thing in a command: numpy's import, for one, starts threads."""
    if not (wanted and can_fork_safely()):
        yield None
        return
    with PlotWorker() as worker:
        yield worker


def _serve(connection: Any, parents_end: Any) -> None:
    """The worker: import, say it is ready, draw the plots of the run folder it is sent, send back their paths."""
    parents_end.close()  # so that the run's process exiting closes the pipe for good
    # Ctrl-C is the run's to handle (it keeps its rows and prints how to resume), and the worker ends when the run
    # does; SIGTERM, which the run turns into an interruption for itself, is how the run stops a stuck worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    import pandas  # noqa: F401  (imported now: the run-folder readers import it when first used)

    from .plots import draw_run_plots, warm_up

    warm_up()
    try:
        connection.send(READY)
        run_dir = connection.recv()
    except (EOFError, OSError):  # the run ended before its last row (bad input, an interruption)
        return
    try:
        drawn = [str(path) for path in draw_run_plots(Path(run_dir))]
    except Exception:  # the run's process draws them again and reports the error
        drawn = None
    connection.send(drawn)
