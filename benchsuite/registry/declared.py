"""Whether any installed distribution may declare benchsuite plugins, answered without importing importlib.metadata.

`bench --help` lists the commands plugins add, so it has to look for installed plugins; importing importlib.metadata
(email, zipfile, csv) costs about 20 ms of that 110 ms start, while most installations have no outside plugin. This
reads the entry_points.txt files importlib.metadata's path finder would read, and answers True whenever it cannot be
sure, so the real lookup (registry/loading.py) runs whenever a plugin may exist.
"""
from __future__ import annotations

import os
import re
import sys

# Installed plugins declare entry points in this group (hookspecs.PROJECT).
ENTRY_POINT_GROUP = "benchsuite"
_SECTION = re.compile(rf"^\s*\[\s*{ENTRY_POINT_GROUP}\s*\]", re.MULTILINE)


def plugins_may_be_installed() -> bool:
    """False only when no distribution on sys.path declares an entry point in ENTRY_POINT_GROUP."""
    if any(hasattr(finder, "find_distributions") and not _searches_sys_path(finder) for finder in sys.meta_path):
        return True  # a finder of its own may offer distributions this scan cannot see
    for entry in sys.path:
        folder = entry or "."
        if not os.path.isdir(folder):
            if os.path.exists(folder):
                return True  # an archive (a zipped egg, a wheel): only importlib.metadata reads inside
            continue
        try:
            if any(_declares(os.path.join(folder, name)) for name in os.listdir(folder)
                   if _is_metadata(folder, name)):
                return True
        except OSError:
            return True
    return False


def _searches_sys_path(finder: object) -> bool:
    """The standard path finder, or the importlib_metadata backport's (which mlflow and wandb install when imported):
    both look for distributions only in the sys.path folders scanned here."""
    from importlib.machinery import PathFinder

    kind = type(finder) if not isinstance(finder, type) else finder
    return finder is PathFinder or (kind.__module__, kind.__name__) == ("importlib_metadata", "MetadataPathFinder")


def _is_metadata(folder: str, name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith((".dist-info", ".egg-info")) or (folder.lower().endswith(".egg") and lowered == "egg-info")


def _declares(metadata: str) -> bool:
    try:
        with open(os.path.join(metadata, "entry_points.txt"), encoding="utf-8") as file:
            return _SECTION.search(file.read()) is not None
    except (FileNotFoundError, NotADirectoryError):
        return False
