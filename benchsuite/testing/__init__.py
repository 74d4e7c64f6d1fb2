"""The conformance kit: does a cell or task plugin keep benchsuite's contract?

`check_cell(spec)` and `check_task(spec)` raise `AssertionError` with a message naming the problem.
Call them from a plugin's own tests, or use the `benchsuite_kit` pytest fixture (see docs/plugins.md).
torch and numpy are imported only when a check runs. The checks live in `kit` (entry points), `common` (what
both backends share), `torch_checks` and `numpy_checks`.
"""
from __future__ import annotations

from .common import KitWarning
from .kit import check_cell, check_task, registered_specs, tiny_task

__all__ = ["KitWarning", "check_cell", "check_task", "registered_specs", "tiny_task"]
