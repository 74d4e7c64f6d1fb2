"""`bench plugins --check`: load each plugin alone in a child process of its own.

In-process loading survives a plugin that raises (even SystemExit) but not one that ends the interpreter
(`os._exit`, a crash in a C extension): `bench list` and `bench run` then stop with that plugin's exit code and
no message. A child per plugin names such a plugin; nothing is imported in the checking process itself.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import describe_exit
from .loading import DISABLE_ENV, _env_names, load_registry, plugin_sources

CHECK_TIMEOUT = 300.0  # seconds one plugin may take to import and register


@dataclass(frozen=True)
class PluginCheck:
    """How loading one plugin alone went: loaded, failed or disabled, and what it registered."""

    name: str
    origin: str
    status: str
    error: str = ""
    cells: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()


def check_plugins(plugins_dir: str | None = None) -> list[PluginCheck]:
    """Every plugin `bench` would load, each loaded alone in a child process."""
    disabled = _env_names(DISABLE_ENV)
    checks = []
    for source in plugin_sources(plugins_dir):
        if source.name in disabled:
            checks.append(PluginCheck(source.name, source.origin, "disabled"))
        else:
            checks.append(_check_in_child(source.name, source.origin, plugins_dir))
    return checks


def _check_in_child(name: str, origin: str, plugins_dir: str | None) -> PluginCheck:
    # The child reports through a file of its own, never stdout, which the plugin shares and may write anything to.
    with tempfile.TemporaryDirectory(prefix="benchsuite-check-") as folder:
        report_path = Path(folder) / "report.json"
        command = [sys.executable, "-m", "benchsuite.registry.check", str(report_path), name,
                   *([plugins_dir] if plugins_dir else [])]
        try:
            child = subprocess.run(command, capture_output=True, text=True, timeout=CHECK_TIMEOUT)
        except subprocess.TimeoutExpired:
            return PluginCheck(name, origin, "failed", f"loading did not finish within {CHECK_TIMEOUT:g} s")
        report = _read_report(report_path) if child.returncode == 0 else None
    if report is None:
        said = child.stderr.strip().splitlines()
        return PluginCheck(name, origin, "failed", f"loading it ended the process ({describe_exit(child.returncode)})"
                                                   + (f": {said[-1]}" if said else ""))
    return PluginCheck(name, origin, report["status"], report["error"], tuple(report["cells"]),
                       tuple(report["tasks"]))


def _read_report(path: Path) -> dict | None:
    """The child's report, or None when it wrote none that has the expected shape."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    shape = {"status": str, "error": str, "cells": list, "tasks": list}
    if not isinstance(report, dict) or any(not isinstance(report.get(key), kind) for key, kind in shape.items()):
        return None
    return report


def _child_main(report_path: str, name: str, plugins_dir: str | None = None) -> None:
    others = {source.name for source in plugin_sources(plugins_dir)} - {name}
    registry = load_registry(plugins_dir, strict=False, disabled=others)
    (info,) = [info for info in registry.plugins if info.name == name]
    cells, tasks = registry.registered_by(name)
    Path(report_path).write_text(json.dumps({"status": info.status, "error": info.error, "cells": cells,
                                             "tasks": tasks}), encoding="utf-8")


if __name__ == "__main__":
    _child_main(*sys.argv[1:])
