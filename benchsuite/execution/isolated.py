"""The isolated executor (`--isolate`): each job in a child process, so a crash, `os._exit` or a kill costs only
its own row.

The child is a fresh interpreter (`python -m benchsuite.execution.isolated`), not a fork: CUDA cannot be used in a
forked child once the parent has touched it. It receives the job request (the cell by name: cells hold closures
that do not pickle) and the task's data pickled through files in the run folder's scratch folder, says through a
pipe when training starts, and hands its outcome back through a file. --timeout (plus a grace) bounds starting and
building the cell, and again training: a child past either is killed. The child dies with its parent.
"""
from __future__ import annotations

import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from ..errors import describe_exit
from ..specs import TaskData
from . import EpochProgress
from .job import JobOutcome, JobRequest, execute, failed, settled

# How long past --timeout a started child may train before it is killed. train() stops a run itself between
# steps; the kill is for a step that never returns, and the grace covers evaluation and one step.
GRACE_SECONDS = 60.0
# How long past --timeout a child may take to start (a fresh interpreter importing torch: seconds on a busy machine)
# and build its cell before it is killed: a build that never returns costs its row, not the run.
START_GRACE_SECONDS = 120.0


@dataclass(frozen=True)
class ChildFailure:
    """An isolated run that ended without a result, as the row's status and error."""

    status: str
    error: str


class IsolatedExecutor:
    """One child process per job, one job at a time; no per-epoch progress (the child's epochs stay in the child)."""

    def outcomes(self, requests: Sequence[JobRequest], datasets: Mapping[str, TaskData | None],
                 epoch_progress: EpochProgress | None = None) -> Iterator[JobOutcome]:
        for request in requests:
            data = datasets[request.job.task]
            outcome = settled(request, data) or run_isolated(request, data)
            if isinstance(outcome, ChildFailure):
                outcome = failed(request, data, outcome.status, outcome.error, details=outcome.error)
            yield outcome


def run_isolated(request: JobRequest, data: TaskData) -> JobOutcome | ChildFailure:
    """`job.execute` of `request` in a child process; its outcome, or how the child failed."""
    with tempfile.TemporaryDirectory(prefix="child-", dir=request.scratch_dir) as folder:
        request_path, result_path = Path(folder) / "request.pickle", Path(folder) / "result.pickle"
        request_path.write_bytes(pickle.dumps((request, data)))
        ready_read, ready_write = os.pipe()
        try:
            try:
                child = start_child(request_path, result_path, ready_write)
            finally:
                os.close(ready_write)  # the child holds its own copy; ours would hide the child's exit
            code = _wait(child, ready_read, request.timeout)
        finally:
            os.close(ready_read)
        if isinstance(code, ChildFailure):
            return code
        if code == 0 and result_path.exists():
            return pickle.loads(result_path.read_bytes())
    return ChildFailure("error", f"the isolated training run ended without a result: {describe_exit(code)}")


def start_child(request_path: Path, result_path: Path, ready: int) -> subprocess.Popen:
    """The child process that runs the pickled request; it writes a byte to `ready` as training starts."""
    return subprocess.Popen([sys.executable, "-m", "benchsuite.execution.isolated", str(request_path),
                             str(result_path), str(ready), str(os.getpid())], pass_fds=(ready,))


def _wait(child: subprocess.Popen, ready: int, timeout: float | None) -> int | ChildFailure:
    """The child's exit code, or a timeout when it overran `timeout` plus a grace while starting and building its
    cell, or after training started."""
    start = None if timeout is None else timeout + START_GRACE_SECONDS
    try:
        # Readable when the child starts training, or when it exits without doing so.
        if not select.select([ready], [], [], start)[0]:
            return ChildFailure("timeout", f"killed {start:g} s after it started: starting and building the cell took "
                                           f"longer than --timeout {timeout:g} plus {START_GRACE_SECONDS:g} s grace")
        os.read(ready, 1)
        return child.wait(timeout=None if timeout is None else timeout + GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        return ChildFailure("timeout", f"killed {timeout + GRACE_SECONDS:g} s after training started: a step did not "
                                       f"return within --timeout {timeout:g} plus {GRACE_SECONDS:g} s grace")
    finally:
        if child.poll() is None:  # overran, or Ctrl-C here: the child must not outlive the parent's decision
            child.kill()
            child.wait()


def die_with_parent(parent: int) -> None:
    """End this child when `parent` dies, so `kill -9 bench` leaves nothing running: on Linux the kernel kills it
    (PR_SET_PDEATHSIG), elsewhere a thread watches; a parent already gone ends it at once."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the request above: nobody will ask for this result
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _child_main(request_path: str, result_path: str, ready: str, parent: str) -> None:
    die_with_parent(int(parent))
    # Ctrl-C reaches the whole process group; the parent handles it and ends this child.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from ..measurement.environment import thread_count

    def started() -> None:
        os.write(int(ready), b"!")
        os.close(int(ready))

    request, data = pickle.loads(Path(request_path).read_bytes())
    with thread_count(request.threads):
        outcome = execute(request, data, on_train_start=started)
    partial = Path(result_path + ".partial")
    partial.write_bytes(pickle.dumps(outcome))
    partial.replace(result_path)


if __name__ == "__main__":
    _child_main(*sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the result is on disk; skipping interpreter teardown saves seconds per child
