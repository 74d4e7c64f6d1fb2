"""Parsers for the values users type: comma lists, directions, `TASK.KEY=VALUE` task and cell options.

Shared by the command line and `benchsuite.run` so both reject the same input with the same message.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from ..errors import BenchInputError
from ..results.naming import DIRECTION_LABELS

DIRECTIONS = {label: bidirectional for bidirectional, label in DIRECTION_LABELS.items()}  # --directions' words


def _items(value: str | Iterable, what: str) -> list:
    items = [item.strip() for item in value.split(",")] if isinstance(value, str) else list(value)
    if not items or any(item == "" for item in items):
        raise BenchInputError(f"{what}: expected a comma-separated list like a,b, got {value!r}")
    return items


def parse_names(value: str | Iterable[str], what: str) -> tuple[str, ...]:
    """'a,b' or ['a', 'b'] to ('a', 'b'), without repeats."""
    return tuple(dict.fromkeys(str(item) for item in _items(value, what)))


def _whole_number(value: Any, what: str) -> int:
    """An int from an int, an integral float or text like '12'; booleans and fractions are refused."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise BenchInputError(f"{what}: {value!r} is not a whole number")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise BenchInputError(f"{what}: {value!r} is not a whole number") from None


def _at_most(number: int, maximum: int | None, what: str, why: str) -> int:
    if maximum is not None and number > maximum:
        raise BenchInputError(f"{what}: {number} is above the largest allowed value, {maximum} ({why})")
    return number


def parse_ints(value: str | Iterable, what: str, minimum: int, maximum: int | None = None,
               why: str = "") -> tuple[int, ...]:
    """'1,2' to (1, 2); each at least `minimum` and at most `maximum` (`why` says where that limit comes from)."""
    numbers = []
    for item in _items(value, what):
        number = _whole_number(item, what)
        if number < minimum:
            raise BenchInputError(f"{what}: {number} is below the smallest allowed value, {minimum}")
        numbers.append(_at_most(number, maximum, what, why))
    return tuple(dict.fromkeys(numbers))


def parse_directions(value: str | Iterable[str]) -> tuple[bool, ...]:
    """'uni,bi' to (False, True): whether each variant is bidirectional."""
    names = parse_names(value, "--directions")
    unknown = [name for name in names if name not in DIRECTIONS]
    if unknown:
        raise BenchInputError(f"--directions: unknown direction {unknown[0]!r}; expected uni, bi or uni,bi")
    return tuple(DIRECTIONS[name] for name in names)


def positive_int(value: Any, what: str, maximum: int | None = None, why: str = "") -> int:
    """A whole number above zero (and at most `maximum`, for the reason `why`), given as a number or as text."""
    number = _whole_number(value, what)
    if number <= 0:
        raise BenchInputError(f"{what}: must be above zero, got {number}")
    return _at_most(number, maximum, what, why)


def _number(value: Any, what: str) -> float:
    try:
        return float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        raise BenchInputError(f"{what}: {value!r} is not a number") from None


def positive_number(value: Any, what: str) -> float:
    """A finite number above zero, given as a number or as text."""
    number = _number(value, what)
    if not (math.isfinite(number) and number > 0):
        raise BenchInputError(f"{what}: must be a finite number above zero, got {value!r}")
    return number


def non_negative_number(value: Any, what: str) -> float:
    """A finite number at or above zero, given as a number or as text."""
    number = _number(value, what)
    if not (math.isfinite(number) and number >= 0):
        raise BenchInputError(f"{what}: must be a finite number at or above zero, got {value!r}")
    return number


NO_CLIP = "none"


def clip_value(value: Any, what: str) -> float | None:
    """A largest gradient norm above zero, or 'none' (or None) for no clipping: a clip grid may include both."""
    if value is None or (isinstance(value, str) and value.strip().lower() == NO_CLIP):
        return None
    try:
        return positive_number(value, what)
    except BenchInputError as exc:
        raise BenchInputError(f"{exc}; or give 'none' for no clipping") from None


FULL_BATCH = "full"


def batch_size_value(value: Any, what: str) -> int | str:
    """64 or '64' to 64; 'full' to FULL_BATCH (one step per epoch over the whole training split)."""
    if isinstance(value, str) and value.strip().lower() == FULL_BATCH:
        return FULL_BATCH
    try:
        return positive_int(value, what)
    except BenchInputError as exc:
        raise BenchInputError(f"{exc}; or give 'full' for one batch per epoch") from None


def parse_dotted_options(pairs: str | Iterable[str], flag: str, example: str) -> dict[str, dict[str, str]]:
    """['delay.gap=50', 'text.path=a.txt'] to {'delay': {'gap': '50'}, 'text': {'path': 'a.txt'}}; `flag` and an
    `example` pair name the option in messages."""
    options: dict[str, dict[str, str]] = {}
    for pair in [pairs] if isinstance(pairs, str) else pairs:
        target, sep, value = pair.partition("=")
        name, dot, key = target.partition(".")
        if not (sep and dot and name.strip() and key.strip()):
            kind = flag.removeprefix("--").split("-")[0].upper()
            raise BenchInputError(f"{flag} {pair!r}: expected {kind}.KEY=VALUE, e.g. {example}")
        options.setdefault(name.strip(), {})[key.strip()] = value
    return options


def parse_task_options(pairs: str | Iterable[str]) -> dict[str, dict[str, str]]:
    """`--task-opt` pairs by task and key."""
    return parse_dotted_options(pairs, "--task-opt", "delay.gap=50")


def parse_cell_options(pairs: str | Iterable[str]) -> dict[str, dict[str, str]]:
    """`--cell-opt` pairs by cell and key."""
    return parse_dotted_options(pairs, "--cell-opt", "mycell.heads=4")


def check_target(value: float) -> float:
    """A target is an accuracy: above 0 and at most 1."""
    if not 0 < value <= 1:
        raise BenchInputError(f"--target: an accuracy above 0 and at most 1 is expected, got {value}")
    return value
