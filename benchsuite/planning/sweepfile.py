"""Sweep files (`bench run --config FILE.toml`): the options of `bench run` in TOML, checked with file:line.

Every option of `bench run` is a key (planning/options.py declares them): the long option name without its dashes
(`batch-size`, or `batch_size`); a grid is a TOML array (`lr = [3e-3, 1e-2, 3e-2]`), a single value a plain one; task
and cell options form tables (`[task-opt.delay]` holding `gap = 30`, `[cell-opt.mycell]`).
Options given on the command line go on top of the file's. Paths are read as the command line reads them, from the
current folder.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Mapping

from ..errors import BenchInputError
from .options import INPUTS, TABLES, Option

# Each key as written in a file (the flag without its dashes) and the keyword it gives `RunOptions.parse`.
KEYWORDS = {spec.key: name for name, spec in INPUTS.items()}
TYPE_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}


class _Located:
    """Finds the line of a key in the file's text: TOML parsers return values without positions."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.lines = path, text.splitlines()

    def line(self, key: str, table: str = "") -> int:
        """The first line assigning `key` inside `table` ('' for the top level), or of the table's header."""
        current, header = "", 0
        for number, line in enumerate(self.lines, start=1):
            heading = re.match(r"\s*\[\s*([^\]]+?)\s*\]", line)
            if heading:
                current = re.sub(r"[\s\"']", "", heading.group(1))
                header = number if current == table else header
            elif current == table and re.match(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
                return number
        return header or 1

    def error(self, line: int, message: str) -> BenchInputError:
        return BenchInputError(f"{self.path}:{line}: {message}")


def _described(kinds: tuple[type, ...], listed: bool) -> str:
    one = " or ".join(TYPE_NAMES[kind] for kind in kinds)
    return f"{one}, or a list of them" if listed else one


def _fits(value: Any, kinds: tuple[type, ...]) -> bool:
    return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)


def _checked(key: str, spelled: str, value: Any, at: _Located) -> Any:
    """The value of `key` (written `spelled` in the file), checked against the types the key takes."""
    spec = INPUTS[KEYWORDS[key]]
    if spec.kinds == TABLES:
        return _tables(key, spec, value, at)
    kinds, listed = spec.kinds, spec.listed
    line = at.line(spelled)
    if isinstance(value, list):
        if not listed:
            raise at.error(line, f"{key}: takes one value ({_described(kinds, False)}), not a list")
        if not value:
            raise at.error(line, f"{key}: an empty list would make an empty grid; give at least one value")
        values = value
    else:
        values = [value]
    wrong = [item for item in values if not _fits(item, kinds)]
    if wrong:
        raise at.error(line, f"{key}: expected {_described(kinds, listed)}, got {wrong[0]!r}")
    return value


def _tables(key: str, spec: Option, value: Any, at: _Located) -> dict[str, dict[str, str]]:
    """`[task-opt.TASK]` (or `[cell-opt.CELL]`) tables to {name: {key: text}}, the form `--task-opt TASK.KEY=VALUE`
    gives."""
    if not isinstance(value, dict) or not all(isinstance(options, dict) for options in value.values()):
        owner = spec.metavar.split(".")[0] if spec.metavar else "NAME"
        raise at.error(at.line(key), f"{key}: expected tables like [{key}.{owner}] holding KEY = VALUE lines")
    parsed: dict[str, dict[str, str]] = {}
    for name, options in value.items():
        for option_key, option in options.items():
            if not _fits(option, (str, int, float, bool)):
                raise at.error(at.line(option_key, f"{key}.{name}"),
                               f"{key}.{name}.{option_key}: expected text, a number or true/false, got {option!r}")
            parsed.setdefault(name, {})[option_key] = str(option).lower() if isinstance(option, bool) else str(option)
    return parsed


def read_sweep_file(path: str | Path) -> dict[str, Any]:
    """The options a sweep file holds, checked, keyed as `RunOptions.parse` takes them."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchInputError(f"--config {path}: cannot read it ({type(exc).__name__}: {exc})") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"at line (\d+)", str(exc))  # else "at end of document"
        line = where.group(1) if where else max(len(text.splitlines()), 1)
        raise BenchInputError(f"{path}:{line}: not valid TOML ({exc})") from None
    at = _Located(path, text)
    given: dict[str, Any] = {}
    for raw_key, value in document.items():
        key = raw_key.replace("_", "-")
        if key not in KEYWORDS:
            raise at.error(at.line(raw_key), f"unknown key {raw_key!r}; known keys: {', '.join(KEYWORDS)}")
        given[KEYWORDS[key]] = _checked(key, raw_key, value, at)
    return given


def with_command_line(from_file: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The file's options with those given on the command line on top (task and cell options key by key)."""
    merged = {**from_file, **given}
    for name in set(from_file) & set(given):
        spec = INPUTS[name]
        if spec.kinds == TABLES:
            typed = spec.parse(given[name], spec.flag_name)
            merged[name] = {target: {**from_file[name].get(target, {}), **typed.get(target, {})}
                            for target in {**from_file[name], **typed}}
    return merged
