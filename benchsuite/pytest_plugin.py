"""benchsuite's pytest plugin (entry point `pytest11`): the `benchsuite_kit` fixture for plugin authors.

pytest loads this module in every test session of an environment where benchsuite is installed,
so it imports nothing heavy.
"""
from __future__ import annotations

from types import ModuleType

import pytest


@pytest.fixture
def benchsuite_kit() -> ModuleType:
    """The conformance kit, `benchsuite.testing`: `check_cell`, `check_task`, `registered_specs`."""
    from benchsuite import testing

    return testing
