"""Peak memory of one training run, in MiB (2**20 bytes).

CUDA: the caching allocator's peak of allocated bytes (`torch.cuda.max_memory_allocated`), reset before the run.
CPU: the process's peak resident set size. On Linux the kernel tracks it as VmHWM and resets it when "5" is
written to /proc/self/clear_refs, so the figure is this run's own peak, sampled by the kernel at no cost to
training. Where that reset is refused, the figure is `ru_maxrss`, the peak over the process's whole life.
"""
from __future__ import annotations

import resource
import sys
from pathlib import Path
from types import TracebackType

MIB = 2 ** 20
CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")
CPU_PER_RUN = "peak resident set size of the run (Linux VmHWM, reset through /proc/self/clear_refs)"
CPU_LIFETIME = "peak resident set size of the process so far (ru_maxrss; could not be reset per run)"
CUDA_METHOD = "torch.cuda.max_memory_allocated, reset before each run"


def _reset_cpu_peak() -> bool:
    """Reset the kernel's peak-RSS mark for this process; False where that is not possible."""
    try:
        CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def _vm_hwm_bytes() -> int | None:
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # reported in kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def _ru_maxrss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def memory_method(device: str) -> str:
    """How peak memory is measured on `device`, for meta.json (probes the CPU reset once)."""
    if device == "cuda":
        return CUDA_METHOD
    return CPU_PER_RUN if _reset_cpu_peak() and _vm_hwm_bytes() is not None else CPU_LIFETIME


class PeakMemory:
    """`with PeakMemory(device) as peak: ...` then `peak.mib` is the block's peak memory (None if unknown)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.mib: float | None = None
        self._per_run = False

    def __enter__(self) -> PeakMemory:
        if self.device == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()
        else:
            self._per_run = _reset_cpu_peak()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.device == "cuda":
            import torch

            peak = torch.cuda.max_memory_allocated()
        else:
            peak = (_vm_hwm_bytes() if self._per_run else None) or _ru_maxrss_bytes()
        self.mib = peak / MIB
