"""Peak memory per run: a known allocation shows up in the figure, and the mark resets between runs."""
from __future__ import annotations

import resource
import sys

import numpy as np
import pytest
import torch

from benchsuite.measurement.memory import CPU_LIFETIME, CPU_PER_RUN, PeakMemory, memory_method

ALLOCATED_MIB = 200


def touch(mib: int) -> None:
    """Allocate `mib` MiB and write every page, so it becomes resident, then free it."""
    block = np.ones(mib * 2 ** 20 // 8)
    del block


@pytest.mark.skipif(memory_method("cpu") != CPU_PER_RUN, reason="the peak resident size cannot be reset here")
def test_cpu_peak_sees_an_allocation_and_resets_after_it() -> None:
    with PeakMemory("cpu") as big:
        touch(ALLOCATED_MIB)
    with PeakMemory("cpu") as small:
        touch(1)
    assert big.mib - small.mib >= ALLOCATED_MIB * 0.95
    assert small.mib > 10  # the interpreter itself stays resident


def lifetime_peak_mib() -> float:
    """The process's peak resident size so far, read here from getrusage (KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2 ** 20 if sys.platform == "darwin" else peak / 2 ** 10


def test_cpu_peak_without_a_reset_reports_the_lifetime_peak(monkeypatch: pytest.MonkeyPatch) -> None:
    import benchsuite.measurement.memory as memory

    monkeypatch.setattr(memory, "_reset_cpu_peak", lambda: False)
    assert memory_method("cpu") == CPU_LIFETIME
    with PeakMemory("cpu") as big:
        touch(ALLOCATED_MIB)
    after_big = lifetime_peak_mib()
    with PeakMemory("cpu") as small:
        touch(1)
    after_small = lifetime_peak_mib()
    # The figure is the lifetime peak as getrusage gives it at the block's end: it holds the big block's pages...
    assert after_big >= ALLOCATED_MIB and big.mib == pytest.approx(after_big, abs=1 / 1024)
    # ...and, with no reset, the small block that follows reports them too.
    assert small.mib == pytest.approx(after_small, abs=1 / 1024) and small.mib >= big.mib


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available on this machine")
def test_cuda_peak_is_the_allocators_peak() -> None:
    with PeakMemory("cuda") as peak:
        block = torch.ones(ALLOCATED_MIB * 2 ** 20 // 4, device="cuda")
        del block
    with PeakMemory("cuda") as after:
        pass
    assert peak.mib >= ALLOCATED_MIB
    assert after.mib < ALLOCATED_MIB  # the mark was reset
