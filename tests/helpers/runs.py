"""Find what a run wrote."""
from __future__ import annotations

from pathlib import Path


def only_run_dir(out: Path) -> Path:
    """The single run folder a test's run created under `out` (fails if there is none or more than one)."""
    folders = [path for path in Path(out).iterdir() if path.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]
