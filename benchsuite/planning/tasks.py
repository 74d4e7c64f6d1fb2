"""Building a task's data from user options, and checking what a task plugin returned."""
from __future__ import annotations

import inspect
from typing import Any, Mapping

from ..errors import BenchInputError
from ..specs import TaskData, TaskSpec


def task_options(spec: TaskSpec) -> dict[str, Any]:
    """The options a task accepts (its `build` keyword parameters) with their defaults (None if required)."""
    parameters = inspect.signature(spec.build).parameters.values()
    return {
        p.name: (None if p.default is inspect.Parameter.empty else p.default)
        for p in parameters
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }


def _accepts_any_option(spec: TaskSpec) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(spec.build).parameters.values())


VALUE_KINDS = {int: "a whole number", float: "a number", bool: "true or false"}


def _convert(task: str, key: str, raw: str, default: Any) -> Any:
    """The text a user typed, as the type of the option's default (text when it has none)."""
    if default is None or isinstance(default, str):
        return raw
    kind = type(default)
    try:
        if kind is bool:
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError
            return raw.lower() in ("1", "true", "yes")
        return kind(raw)
    except ValueError:
        raise BenchInputError(f"--task-opt {task}.{key}={raw}: expected {VALUE_KINDS.get(kind, kind.__name__)}, "
                              f"like {default!r}") from None


def convert_options(spec: TaskSpec, raw: Mapping[str, str]) -> dict[str, Any]:
    """Check user options against what the task accepts and convert them to its types."""
    accepted = task_options(spec)
    converted = {}
    for key, value in raw.items():
        if key not in accepted and not _accepts_any_option(spec):
            names = ", ".join(accepted) or "none"
            raise BenchInputError(f"--task-opt {spec.name}.{key}: task {spec.name!r} has no option {key!r}; "
                                  f"its options: {names}")
        converted[key] = _convert(spec.name, key, value, accepted.get(key))
    return converted


def check_task_data(name: str, data: Any) -> TaskData:
    """The data a task built, checked for what the core relies on; a broken task plugin gets a clear error."""
    import numpy as np

    if not isinstance(data, TaskData):
        raise TypeError(f"task {name!r}: build() must return TaskData, got {type(data).__name__}")
    for split in ("train", "valid"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if split == "valid" and x is None and y is None:
            continue
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim != 2 or x.shape != y.shape:
            raise ValueError(f"task {name!r}: x_{split} and y_{split} must both have shape (N, T); "
                             f"got {x.shape} and {y.shape}")
        if not (np.issubdtype(x.dtype, np.integer) and np.issubdtype(y.dtype, np.integer)):
            raise ValueError(f"task {name!r}: x_{split} and y_{split} must hold integers (indices into vocab); "
                             f"got {x.dtype} and {y.dtype}")
        if x.size and (x.min() < 0 or x.max() >= len(data.vocab) or y.max() >= len(data.vocab)):
            raise ValueError(f"task {name!r}: {split} indices must lie in 0..{len(data.vocab) - 1} (targets may be "
                             "negative to be ignored)")
    return data


def build_task(spec: TaskSpec, raw_options: Mapping[str, str]) -> TaskData:
    """The task's data built with the user's options, checked."""
    return check_task_data(spec.name, spec.build(**convert_options(spec, raw_options)))


def effective_defaults(spec: TaskSpec, data: TaskData) -> dict[str, Any]:
    """Hyperparameter defaults: the spec's, overridden by those the built data carries."""
    return {**spec.defaults, **data.defaults}
