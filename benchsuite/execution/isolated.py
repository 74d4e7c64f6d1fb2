"""The isolated executor (`--isolate`): each job in a child process, so a crash, `os._exit` or a kill costs only
its own row.

The child is a fresh interpreter (`python -m benchsuite.execution.isolated`), not a fork: CUDA cannot be used in a
forked child once the parent has touched it. It receives the job request (the cell by name: cells hold closures
that do not pickle) and the task's data pickled, says through a pipe when training starts (start-up and building
can take seconds that --timeout does not count), and hands its outcome back through a file.
"""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from ..specs import TaskData
from . import EpochProgress
from .job import JobOutcome, JobRequest, execute, failed, settled

# How long past --timeout a started child may live before it is killed. train() stops a run itself between
# steps; the kill is for a step that never returns, and the grace covers building, evaluation and one step.
GRACE_SECONDS = 60.0


@dataclass(frozen=True)
class ChildFailure:
    """An isolated run that ended without a result, as the row's status and error."""

    status: str
    error: str


def describe_exit(code: int) -> str:
    """'exit code 3', or 'exit code -9 (SIGKILL)' for a child ended by a signal."""
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"exit code {code} ({signal.Signals(-code).name})"
    except ValueError:
        return f"exit code {code} (signal {-code})"


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
    timeout = request.timeout
    with tempfile.TemporaryDirectory(prefix="benchsuite-child-") as folder:
        request_path, result_path = Path(folder) / "request.pickle", Path(folder) / "result.pickle"
        request_path.write_bytes(pickle.dumps((request, data)))
        ready_read, ready_write = os.pipe()
        try:
            try:
                child = subprocess.Popen([sys.executable, "-m", "benchsuite.execution.isolated", str(request_path),
                                          str(result_path), str(ready_write)], pass_fds=(ready_write,))
            finally:
                os.close(ready_write)  # the child holds its own copy; ours would hide the child's exit
            code = _wait(child, ready_read, timeout)
        finally:
            os.close(ready_read)
        if code is None:
            return ChildFailure("timeout", f"killed {timeout + GRACE_SECONDS:g} s after training started: a step did "
                                           f"not return within --timeout {timeout:g} plus {GRACE_SECONDS:g} s grace")
        if code == 0 and result_path.exists():
            return pickle.loads(result_path.read_bytes())
    return ChildFailure("error", f"the isolated training run ended without a result: {describe_exit(code)}")


def _wait(child: subprocess.Popen, ready: int, timeout: float | None) -> int | None:
    """The child's exit code, or None when it overran `timeout` plus the grace after training started."""
    try:
        os.read(ready, 1)  # returns when the child starts training, or when it exits without doing so
        return child.wait(timeout=None if timeout is None else timeout + GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        return None
    finally:
        if child.poll() is None:  # overran, or Ctrl-C here: the child must not outlive the parent's decision
            child.kill()
            child.wait()


def die_with_parent() -> None:
    """On Linux, ask the kernel to kill this child when its parent dies, so `kill -9 bench` leaves nothing running."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _child_main(request_path: str, result_path: str, ready: str) -> None:
    die_with_parent()
    # Ctrl-C reaches the whole process group; the parent handles it and ends this child.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from ..measurement.timing import thread_count

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
