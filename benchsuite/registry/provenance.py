"""Where each loaded plugin came from, for meta.json: its version and, for an installed one, the versions of its
distribution and of what that distribution requires, so a row of a wrapped cell traces to the package it wraps.
The code a run's rows are measured with (benchsuite, its plugins, torch, the git commit), which a resume compares.
And the selection metric of each task a recorded run's rows are read with."""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..version import __version__
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


def _git(*args: str) -> str:
    """`git ARGS` run in benchsuite's own folder: its output, or "" outside a checkout or without git."""
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def git_state() -> tuple[str | None, bool | None]:
    """The commit of the git checkout benchsuite runs from, and whether it has uncommitted changes (None, None
    outside a checkout)."""
    commit = _git("rev-parse", "HEAD") or None
    return commit, (bool(_git("status", "--porcelain")) if commit else None)


def file_digest(path: str | Path) -> str:
    """The sha256 of a file's content, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _plugin_version(info: PluginInfo) -> str:
    """A plugin's version; a plugin file's with a digest of its content, as such a file seldom declares one."""
    if not Path(info.origin).is_file():
        return info.version
    try:
        return f"{info.version} file sha256 {file_digest(info.origin)[:12]}".strip()
    except OSError:
        return info.version


def code_record(registry: Registry) -> dict[str, Any]:
    """The code that measures a run's rows: benchsuite's version, each loaded plugin's, torch's, the git commit of
    benchsuite's checkout and whether it was dirty; with `fingerprint`, a digest of all that, which each row's
    code_version column holds."""
    import torch

    commit, dirty = git_state()
    record = {"benchsuite": __version__, "torch": torch.__version__, "git_commit": commit, "git_dirty": dirty,
              "plugins": {info.name: _plugin_version(info) for info in registry.plugins if info.status == "loaded"}}
    fingerprint = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:12]
    return {**record, "fingerprint": fingerprint}


def code_changes(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What differs between two `code_record`s, one phrase each ('torch 2.12.0 -> 2.13.0'); of the plugins, those
    loaded by both (a plugin only one loaded made none of the other's rows)."""
    changes = [f"{name} {before.get(name)} -> {now.get(name)}"
               for name in ("benchsuite", "torch", "git_commit", "git_dirty") if before.get(name) != now.get(name)]
    plugins_before, plugins_now = before.get("plugins") or {}, now.get("plugins") or {}
    changes += [f"plugin {name} {plugins_before[name] or '(no version)'} -> {plugins_now[name] or '(no version)'}"
                for name in plugins_before if name in plugins_now and plugins_before[name] != plugins_now[name]]
    return changes


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
