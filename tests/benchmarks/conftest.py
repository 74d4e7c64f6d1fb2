"""Benchmarks run once as tests under pyproject's --benchmark-disable; asking for --benchmark-only times them."""
from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark refuses --benchmark-only beside --benchmark-disable
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("benchmark_only", default=False):
        config.option.benchmark_enable = True
