"""Options a plugin's `build` accepts, read from its signature, and the text users type turned into their types.

One mechanism for both kinds of plugin: `--task-opt TASK.KEY=VALUE` reaches `TaskSpec.build(**options)`,
`--cell-opt CELL.KEY=VALUE` reaches `CellSpec.build(config, **options)`. An option's type is its default's;
an option without a default, or with a text or None default, takes the text as typed.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping

from ..errors import BenchInputError

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
