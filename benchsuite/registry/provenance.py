"""Where each loaded plugin came from, for meta.json: its version and, for an installed one, the versions of its
distribution and of what that distribution requires, so a row of a wrapped cell traces to the package it wraps.
And back from meta.json: the plugins a recorded run's rows are read with."""
from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

from .loading import PluginInfo, Registry, get_registry

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def requirement_versions(distribution: str) -> dict[str, str | None]:
    """Each requirement of `distribution` (extras' ones left out) with its installed version (None: absent)."""
    versions: dict[str, str | None] = {}
    for requirement in metadata.requires(distribution) or []:
        if "extra ==" in requirement.replace('"', "").replace("'", ""):
            continue  # an optional extra's requirement; not part of what the plugin runs on
        match = _REQUIREMENT_NAME.match(requirement)
        if match:
            versions[match.group(1)] = _installed(match.group(1))
    return versions


def _record(info: PluginInfo) -> dict[str, Any]:
    record: dict[str, Any] = {"name": info.name, "version": info.version, "origin": info.origin,
                              "status": info.status}
    if info.distribution:
        record["distribution"] = info.distribution
        try:
            record["requires"] = requirement_versions(info.distribution)
        except metadata.PackageNotFoundError:
            record["requires"] = {}
    return record


def plugin_records(registry: Registry) -> list[dict[str, Any]]:
    """Every plugin the registry tried: name, version, origin, status, and for an entry point its distribution
    with the installed versions of its requirements."""
    return [_record(info) for info in registry.plugins]


def selection_metrics(meta: Mapping[str, Any] | None) -> dict[str, str]:
    """Each task's `TaskSpec.selection_metric` by name, from the plugins a run was made with: its --plugins-dir
    (recorded in meta.json) where that folder is still there, and the built-in and installed ones."""
    plugins_dir = ((meta or {}).get("options") or {}).get("plugins_dir")
    if plugins_dir is not None and not Path(plugins_dir).is_dir():
        plugins_dir = None  # moved or deleted since: the tasks it held are selected by accuracy
    return {name: entry.spec.selection_metric for name, entry in get_registry(plugins_dir).tasks.items()}
