"""Parsers for the values users type: comma lists, directions, `TASK.KEY=VALUE` task options.

Shared by the command line and `benchsuite.run` so both reject the same input with the same message.
"""
from __future__ import annotations

from typing import Iterable

from .errors import BenchInputError

DIRECTIONS = {"uni": False, "bi": True}


def _items(value: str | Iterable, what: str) -> list:
    items = [item.strip() for item in value.split(",")] if isinstance(value, str) else list(value)
    if not items or any(item == "" for item in items):
        raise BenchInputError(f"{what}: expected a comma-separated list like a,b, got {value!r}")
    return items


def parse_names(value: str | Iterable[str], what: str) -> tuple[str, ...]:
    """'a,b' or ['a', 'b'] to ('a', 'b'), without repeats."""
    return tuple(dict.fromkeys(str(item) for item in _items(value, what)))


def parse_ints(value: str | Iterable, what: str, minimum: int) -> tuple[int, ...]:
    """'1,2' to (1, 2); each at least `minimum`."""
    numbers = []
    for item in _items(value, what):
        try:
            number = int(item)
        except (TypeError, ValueError):
            raise BenchInputError(f"{what}: {item!r} is not a whole number") from None
        if number < minimum:
            raise BenchInputError(f"{what}: {number} is below the smallest allowed value, {minimum}")
        numbers.append(number)
    return tuple(dict.fromkeys(numbers))


def parse_directions(value: str | Iterable[str]) -> tuple[bool, ...]:
    """'uni,bi' to (False, True): whether each variant is bidirectional."""
    names = parse_names(value, "--directions")
    unknown = [name for name in names if name not in DIRECTIONS]
    if unknown:
        raise BenchInputError(f"--directions: unknown direction {unknown[0]!r}; expected uni, bi or uni,bi")
    return tuple(DIRECTIONS[name] for name in names)


def positive(value: float | int, what: str) -> float | int:
    """`value` itself when above zero; a bad-input error otherwise."""
    if not value > 0:
        raise BenchInputError(f"{what}: must be above zero, got {value}")
    return value


FULL_BATCH = "full"


def parse_batch_size(value: str | int | None) -> int | str | None:
    """'64' to 64, 'full' to FULL_BATCH (one batch per epoch), None to None (the task's default)."""
    if value is None:
        return None
    if str(value).strip().lower() == FULL_BATCH:
        return FULL_BATCH
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BenchInputError(f"--batch-size: expected a whole number above zero or 'full', got {value!r}") from None
    return positive(number, "--batch-size")


def parse_task_options(pairs: Iterable[str]) -> dict[str, dict[str, str]]:
    """['delay.gap=50', 'text.path=a.txt'] to {'delay': {'gap': '50'}, 'text': {'path': 'a.txt'}}."""
    options: dict[str, dict[str, str]] = {}
    for pair in pairs:
        target, sep, value = pair.partition("=")
        task, dot, key = target.partition(".")
        if not (sep and dot and task.strip() and key.strip()):
            raise BenchInputError(f"--task-opt {pair!r}: expected TASK.KEY=VALUE, e.g. delay.gap=50")
        options.setdefault(task.strip(), {})[key.strip()] = value
    return options
