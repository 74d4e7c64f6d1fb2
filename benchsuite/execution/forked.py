"""One job in a process of its own, forked from a server that has torch and benchsuite imported already.

The ray executor runs each job this way inside its Ray task, so that a job that crashes (`os._exit`, a segfault,
the OOM killer) costs its own row with the exact exit status, and one that hangs (in `build`, in a C call) is
killed at its deadline, while the Ray worker that waits for it stays alive. Ray then retries a task only when the
worker or its node is lost, never for a job's own crash. The server (multiprocessing's forkserver) is started once
per Ray worker process; forking it costs milliseconds where a fresh interpreter would import torch again.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
from multiprocessing.connection import Connection, wait
from typing import Any, Callable

from ..registry.loading import BUILTIN_MODULES
from .isolated import ChildFailure, describe_exit, die_with_parent

# Imported once by the server, so that each forked job starts with them loaded (measured on CPU, torch 2.13,
# ray 2.60): ray is imported by the Ray worker's main script, which multiprocessing re-runs in every job's process
# (about 0.4 s). torch._dynamo is not: training never imports it (the torch backend has its own Adam), and a
# `--compile` job, the only one that does, pays its import (1-2 s) outside its compile and step times.
PRELOAD = ["ray", "torch", "benchsuite.execution.job", "benchsuite.backends.torch_backend",
           "benchsuite.backbones.torch_stack", *BUILTIN_MODULES.values()]
STARTED = "started"  # what the job's process says first, as it begins the job


def run_forked(target: Callable[..., Any], args: tuple, kill_after: float | None) -> Any:
    """`target(*args)` in a forked process: its result, or a `ChildFailure` saying how the process ended without
    one (killed as a timeout once it has run `kill_after` seconds)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    receive, send = context.Pipe(duplex=False)
    # The job process reads CUDA_VISIBLE_DEVICES when CUDA starts; Ray sets it in this worker for each GPU task.
    child = context.Process(target=_child_main, args=(target, args, send, os.environ.get("CUDA_VISIBLE_DEVICES")),
                            daemon=True)
    child.start()
    send.close()  # the child holds its own end; ours would hide the child's exit
    try:
        try:
            receive.recv()  # the job has begun: the server's start-up (importing torch) is not the job's time
            if not wait([receive, child.sentinel], timeout=kill_after):
                return ChildFailure("timeout", f"killed {kill_after:g} s after the job started")
            return receive.recv()
        except EOFError:  # it ended without sending a result
            child.join()
            return ChildFailure("error", f"the job's process ended without a result: {describe_exit(child.exitcode)}")
    finally:
        if child.is_alive():  # overran, or this worker is being cancelled: the job must not outlive the decision
            child.kill()
        child.join()
        receive.close()


def _child_main(target: Callable[..., Any], args: tuple, send: Connection, visible_gpus: str | None) -> None:
    die_with_parent(os.getppid())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it ends this process
    if visible_gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = visible_gpus
    send.send(STARTED)
    send.send(target(*args))
    send.close()
