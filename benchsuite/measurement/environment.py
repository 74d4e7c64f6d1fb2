"""What a run is measured on: versions, machine, device, command line, commit; and the threads it may use."""
from __future__ import annotations

import os
import platform
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Iterator

from ..registry.provenance import git_state
from ..results.schema import SCHEMA_VERSION
from . import timing
from .memory import memory_method


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cores_available() -> int | None:
    """Cores this process may run on (fewer than the machine's under taskset or a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def _measurement(device: str) -> dict[str, Any]:
    """How the figures in runs.csv were taken, so a reader can judge them."""
    return {
        "clock": "time.perf_counter, read after the device is synchronised",
        "warmup_steps": timing.WARMUP_STEPS,
        "noise_iqr_ratio": timing.NOISE_RATIO,
        "noise_warn_ratio": timing.WARN_RATIO,
        "infer_warmup": timing.INFER_WARMUP,
        "infer_min_repeats": timing.INFER_MIN_REPEATS,
        "infer_min_seconds": timing.INFER_MIN_SECONDS,
        "infer_max_repeats": timing.INFER_MAX_REPEATS,
        "infer_max_seconds": timing.INFER_MAX_SECONDS,
        "peak_memory": memory_method(device),
        "time_to_target": "first epoch whose validation accuracy (training accuracy without a split) "
                          "reaches the target; training time only, validation excluded",
    }


def collect_meta(device: str, device_name: str, argv: list[str]) -> dict[str, Any]:
    """The environment of this run, for meta.json; `threads` is torch's thread count when called."""
    import numpy
    import torch

    commit, dirty = git_state()
    return {
        "schema_version": SCHEMA_VERSION,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "argv": argv,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_available": _cores_available(),
        "threads": torch.get_num_threads(),
        "device": device,
        "device_name": device_name,
        "torch_cuda": torch.version.cuda,
        "hostname": platform.node(),
        "platform": platform.platform(),
        "git_commit": commit,
        "git_dirty": dirty,
        "executable": sys.executable,
        "measurement": _measurement(device),
    }


@contextmanager
def thread_count(threads: int | None) -> Iterator[int]:
    """Run the block with torch using `threads` intra-op threads and the BLAS and OpenMP pools (NumPy's among
    them) limited to as many, through threadpoolctl (None: leave all as they are); yields torch's count in use."""
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):  # None changes nothing
            yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


def threads_in_use() -> int:
    """torch's intra-op thread count in this process now, recorded on every row."""
    import torch

    return torch.get_num_threads()
