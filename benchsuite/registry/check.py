"""`bench plugins --check`: load each plugin alone in a child process of its own.

In-process loading survives a plugin that raises (even SystemExit) but not one that ends the interpreter
(`os._exit`, a crash in a C extension): `bench list` and `bench run` then stop with that plugin's exit code and
no message. A child per plugin names such a plugin; nothing is imported in the checking process itself.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

from ..errors import describe_exit
from .loading import DISABLE_ENV, _env_names, load_registry, plugin_sources

MARKER = "benchsuite-plugin-check: "  # prefixes the child's one line of JSON on stdout
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
    command = [sys.executable, "-m", "benchsuite.registry.check", name, *([plugins_dir] if plugins_dir else [])]
    try:
        child = subprocess.run(command, capture_output=True, text=True, timeout=CHECK_TIMEOUT)
    except subprocess.TimeoutExpired:
        return PluginCheck(name, origin, "failed", f"loading did not finish within {CHECK_TIMEOUT:g} s")
    reports = [line[len(MARKER):] for line in child.stdout.splitlines() if line.startswith(MARKER)]
    if not reports:
        said = child.stderr.strip().splitlines()
        return PluginCheck(name, origin, "failed", f"loading it ended the process ({describe_exit(child.returncode)})"
                                                   + (f": {said[-1]}" if said else ""))
    report = json.loads(reports[-1])
    return PluginCheck(name, origin, report["status"], report["error"], tuple(report["cells"]),
                       tuple(report["tasks"]))


def _child_main(name: str, plugins_dir: str | None = None) -> None:
    others = {source.name for source in plugin_sources(plugins_dir)} - {name}
    registry = load_registry(plugins_dir, strict=False, disabled=others)
    (info,) = [info for info in registry.plugins if info.name == name]
    cells, tasks = registry.registered_by(name)
    print(MARKER + json.dumps({"status": info.status, "error": info.error, "cells": cells, "tasks": tasks}),
          flush=True)


if __name__ == "__main__":
    _child_main(*sys.argv[1:])
