"""What a run was measured on: versions, machine, device, command line, commit."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .results import SCHEMA_VERSION


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def collect_meta(device: str, device_name: str, argv: list[str]) -> dict[str, Any]:
    """The environment of this run, for meta.json."""
    import numpy
    import torch

    commit = _git("rev-parse", "HEAD")
    return {
        "schema_version": SCHEMA_VERSION,
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "argv": argv,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "device": device,
        "device_name": device_name,
        "hostname": platform.node(),
        "platform": platform.platform(),
        "git_commit": commit or None,
        "git_dirty": bool(_git("status", "--porcelain")) if commit else None,
        "executable": sys.executable,
    }
