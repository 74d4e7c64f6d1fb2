"""Fixtures shared by the tests and the benchmarks."""
from __future__ import annotations

from typing import Iterator

import pytest


@pytest.fixture
def one_thread() -> Iterator[None]:
    """torch's intra-op pool and NumPy's BLAS limited to one thread for one test, restored after.

    The models under test are far too small to gain from more threads, and on a shared machine a
    thread pool spends its time waiting for descheduled workers: timings then measure the neighbours.
    """
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(threads)
