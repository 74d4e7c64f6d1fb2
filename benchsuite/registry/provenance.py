"""Where each loaded plugin came from, for meta.json: its version and, for an installed one, the versions of its
distribution and of what that distribution requires, so a row of a wrapped cell traces to the package it wraps.
And the selection metric of each task a recorded run's rows are read with."""
from __future__ import annotations

import re
from importlib import metadata
from typing import Any, Iterable, Mapping

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


def selection_metrics(plugins_dir: str | None = None) -> dict[str, str]:
    """Each loaded task's `TaskSpec.selection_metric` by name: the built-in and installed plugins, and the plugin
    files of `plugins_dir`, which must come from the command line: a run folder's meta.json names a folder but is
    data anyone who can write the folder can edit, so it never decides which code runs."""
    return {name: entry.spec.selection_metric for name, entry in get_registry(plugins_dir).tasks.items()}


def unloaded_tasks_note(tasks: Iterable[str], metrics: Mapping[str, str]) -> str | None:
    """What a reader should know when some of a run's tasks come from plugins not loaded now."""
    missing = sorted(set(tasks) - set(metrics))
    if not missing:
        return None
    return (f"note: no loaded plugin has task(s) {', '.join(missing)}, so they are selected by accuracy; pass the "
            "run's --plugins-dir to select them by their own metric")
