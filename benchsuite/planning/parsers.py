"""Parsers for the values users type: comma lists, directions, `TASK.KEY=VALUE` task and cell options, and those
options' values typed from the plugin's `build` signature.

Shared by the command line, sweep files and `benchsuite.run` so all reject the same input with the same message.
One mechanism for both kinds of plugin option: `--task-opt TASK.KEY=VALUE` reaches `TaskSpec.build(**options)`,
`--cell-opt CELL.KEY=VALUE` reaches `CellSpec.build(config, **options)`. An option's type is its default's; an option
without a default, or with a text or None default, takes the text as typed.
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Callable, Iterable, Mapping

from ..errors import BenchInputError
from ..results.naming import DIRECTION_LABELS

DIRECTIONS = {label: bidirectional for bidirectional, label in DIRECTION_LABELS.items()}  # --directions' words


def list_items(value: Any, what: str, expected: str = "a comma-separated list like a,b") -> list:
    """Text 'a,b', a sequence, or one value (a sweep file's `layers = 2`) as a list of its items, none blank."""
    items = ([item.strip() for item in value.split(",")] if isinstance(value, str)
             else list(value) if isinstance(value, Iterable) else [value])
    if not items or any(isinstance(item, str) and not item.strip() for item in items):
        raise BenchInputError(f"{what}: expected {expected}, got {value!r}")
    return items


def parse_names(value: str | Iterable[str], what: str) -> tuple[str, ...]:
    """'a,b' or ['a', 'b'] to ('a', 'b'), without repeats."""
    return tuple(dict.fromkeys(str(item) for item in list_items(value, what)))


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
    for item in list_items(value, what):
        number = _whole_number(item, what)
        if number < minimum:
            raise BenchInputError(f"{what}: {number} is below the smallest allowed value, {minimum}")
        numbers.append(_at_most(number, maximum, what, why))
    return tuple(dict.fromkeys(numbers))


def parse_directions(value: str | Iterable[str], what: str = "--directions") -> tuple[bool, ...]:
    """'uni,bi' to (False, True): whether each variant is bidirectional."""
    names = parse_names(value, what)
    unknown = [name for name in names if name not in DIRECTIONS]
    if unknown:
        raise BenchInputError(f"{what}: unknown direction {unknown[0]!r}; expected uni, bi or uni,bi")
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

VALUE_KINDS = {int: "a whole number", float: "a number", bool: "true or false"}
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes"), ("0", "false", "no")


def _parameters(build: Callable[..., Any], skip: int) -> list[inspect.Parameter]:
    return list(inspect.signature(build).parameters.values())[skip:]


def signature_options(build: Callable[..., Any], skip: int = 0) -> dict[str, Any]:
    """The keyword options `build` accepts after its first `skip` parameters, with their defaults (None if
    required)."""
    return {p.name: (None if p.default is inspect.Parameter.empty else p.default)
            for p in _parameters(build, skip) if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def accepts_any_option(build: Callable[..., Any]) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(build).parameters.values())


def convert_value(where: str, raw: str, default: Any) -> Any:
    """The text a user typed for the option at `where` (e.g. '--task-opt delay.gap=x'), as its default's type."""
    if default is None or isinstance(default, str):
        return raw
    kind = type(default)
    try:
        if kind is bool:
            if raw.lower() not in TRUE_WORDS + FALSE_WORDS:
                raise ValueError
            return raw.lower() in TRUE_WORDS
        return kind(raw)
    except ValueError:
        raise BenchInputError(f"{where}: expected {VALUE_KINDS.get(kind, kind.__name__)}, like {default!r}") from None


def convert_options(flag: str, kind: str, name: str, build: Callable[..., Any], raw: Mapping[str, str],
                    skip: int = 0) -> dict[str, Any]:
    """User options for the `kind` ("task" or "cell") called `name`, checked against `build`'s signature and
    converted to its types; `flag` names the command-line option in messages."""
    accepted = signature_options(build, skip)
    converted = {}
    for key, value in raw.items():
        if key not in accepted and not accepts_any_option(build):
            raise BenchInputError(f"{flag} {name}.{key}: {kind} {name!r} has no option {key!r}; "
                                  f"its options: {', '.join(accepted) or 'none'}")
        converted[key] = convert_value(f"{flag} {name}.{key}={value}", value, accepted.get(key))
    return converted


def shown_options(options: Mapping[str, Any]) -> str:
    """'gap=30 path' for `bench list`: each option with its default (bare when it has none)."""
    return " ".join(f"{key}={value!r}" if value is not None else key for key, value in options.items()) or "-"
