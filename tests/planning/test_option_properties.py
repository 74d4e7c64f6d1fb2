"""Property tests for the parsers of what users type: each returns checked values or raises BenchInputError."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchsuite.errors import BenchInputError
from benchsuite.planning.options import RunOptions, options_from_record, options_record
from benchsuite.planning.parsers import (
    parse_directions,
    parse_ints,
    parse_names,
    parse_task_options,
    positive_int,
    positive_number,
)

spaces = st.sampled_from(["", " ", "  ", "\t"])
name = st.text(st.characters(exclude_characters=",", exclude_categories=("Cs",)), min_size=1).filter(str.strip)


def joined(items: list[str], pads: st.DataObject) -> str:
    return ",".join(pads.draw(spaces) + item + pads.draw(spaces) for item in items)


@given(st.integers(0, 2), st.lists(st.integers(0, 10**6), min_size=1), st.data())
def test_ints_round_trip(minimum, numbers, data):
    numbers = [number + minimum for number in numbers]
    expected = tuple(dict.fromkeys(numbers))  # first occurrence of each, in order
    assert parse_ints(joined([str(n) for n in numbers], data), "--seeds", minimum) == expected
    assert parse_ints(numbers, "--seeds", minimum) == expected


@given(st.one_of(st.text(), st.lists(st.one_of(st.text(), st.integers(), st.floats(), st.booleans()))),
       st.integers(0, 2))
def test_ints_accept_only_whole_numbers_at_least_the_minimum(value, minimum):
    try:
        parsed = parse_ints(value, "--layers", minimum)
    except BenchInputError as exc:
        assert str(exc).startswith("--layers: ")
        return
    assert parsed and all(type(n) is int and n >= minimum for n in parsed)
    assert len(set(parsed)) == len(parsed)


@given(st.lists(name, min_size=1), st.data())
def test_names_round_trip(names, data):
    assert parse_names(joined(names, data), "--cells") == tuple(dict.fromkeys(n.strip() for n in names))


@given(st.text())
def test_names_never_empty(value):
    try:
        parsed = parse_names(value, "--cells")
    except BenchInputError as exc:
        assert str(exc).startswith("--cells: expected a comma-separated list")
        return
    assert parsed and all(item.strip() == item and item for item in parsed)


@given(st.lists(st.sampled_from(["uni", "bi"]), min_size=1), st.data())
def test_directions_round_trip(names, data):
    assert parse_directions(joined(names, data)) == tuple(dict.fromkeys(n == "bi" for n in names))


@given(st.text())
def test_directions_accept_only_uni_and_bi(value):
    try:
        parsed = parse_directions(value)
    except BenchInputError as exc:
        assert str(exc).startswith("--directions: ")
        return
    assert set(parsed) <= {False, True} and len(set(parsed)) == len(parsed)


task_name = st.text(st.characters(exclude_characters=".=", exclude_categories=("Cs",)), min_size=1).filter(str.strip)
key_name = st.text(st.characters(exclude_characters="=", exclude_categories=("Cs",)), min_size=1).filter(str.strip)


@given(st.lists(st.tuples(task_name, key_name, st.text()), min_size=1))
def test_task_options_round_trip(triples):
    expected: dict[str, dict[str, str]] = {}
    for task, key, value in triples:  # a later option for the same task and key wins
        expected.setdefault(task.strip(), {})[key.strip()] = value
    assert parse_task_options([f"{task}.{key}={value}" for task, key, value in triples]) == expected


@given(st.one_of(st.text(), st.lists(st.text())))
def test_task_options_are_parsed_or_refused(pairs):
    try:
        parsed = parse_task_options(pairs)
    except BenchInputError as exc:
        assert str(exc).startswith("--task-opt ") and "expected TASK.KEY=VALUE" in str(exc)
        return
    for task, options in parsed.items():
        assert task and "." not in task and "=" not in task
        assert all(key and "=" not in key for key in options)


numbers = st.one_of(st.integers(), st.floats(), st.text(), st.booleans(), st.none(), st.integers(-10**400, 10**400))


@pytest.mark.parametrize("parse, flag", [(positive_int, "--epochs"), (positive_number, "--lr")])
@given(value=numbers)
def test_positive_values(parse, flag, value):
    try:
        parsed = parse(value, flag)
    except BenchInputError as exc:
        assert str(exc).startswith(f"{flag}: ")
        return
    assert parsed > 0
    assert type(parsed) is int if parse is positive_int else math.isfinite(parsed)
    assert parse(repr(parsed), flag) == parsed  # what it returns, typed back, is accepted unchanged


@pytest.mark.parametrize("value", [0, -1, "0", "-2", 1.5, "1.5", True, "1e3", None, [], "ten"])
def test_positive_int_refuses(value):
    with pytest.raises(BenchInputError, match="^--hidden: "):
        positive_int(value, "--hidden")


run_options = st.builds(
    RunOptions.parse,
    tasks=st.lists(name, min_size=1),
    cells=st.none() | st.lists(name, min_size=1),
    layers=st.none() | st.lists(st.integers(1, 4), min_size=1),
    directions=st.none() | st.lists(st.sampled_from(["uni", "bi"]), min_size=1),
    hidden=st.none() | st.integers(1, 512),
    epochs=st.none() | st.integers(1, 10**4),
    lr=st.none() | st.floats(1e-6, 10.0),
    seeds=st.lists(st.integers(0, 99), min_size=1),
    device=st.sampled_from(["cpu", "cuda", "auto"]),
    task_opts=st.dictionaries(task_name, st.dictionaries(key_name, st.text())),
    timeout=st.none() | st.floats(0.01, 1e6),
    isolate=st.booleans(),
    fail_fast=st.booleans(),
)


@given(run_options)
def test_options_survive_meta_json(options):
    """What a run records in meta.json gives back the same options when the run is resumed."""
    assert options_from_record(json.loads(json.dumps(options_record(options)))) == options
