"""One thread for torch and for NumPy's BLAS, for tests and benchmarks that time or train tiny models."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


@contextmanager
def single_thread() -> Iterator[None]:
    """torch's intra-op pool and BLAS limited to one thread for the block, restored after.

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
