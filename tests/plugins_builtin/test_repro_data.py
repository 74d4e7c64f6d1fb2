"""The reproduction files (benchsuite/repro/protocols/*.toml): each names what a run needs, tags every published
figure, and the papers' own comparable figures pass the claims that bear on them."""
from __future__ import annotations

import copy
import operator
import tomllib
from pathlib import Path

import pytest

import benchsuite.repro

REPRO_DATA = Path(benchsuite.repro.__file__).parent / "protocols"
FILES = sorted(REPRO_DATA.glob("*.toml"))
# How many (claim, task, cell[, setting]) checks each file's published figures take part in: a claim that names
# no figure, or a `where` that matches no row, changes the count and fails here.
PUBLISHED_CHECKS = {"deletang": 1 + 3 + 1 + 3 * 3, "zoology_mqar": 2, "nanogpt_shakespeare": 1,
                    "mingru_selective_copy": 2}
OPS = {">=": operator.ge, "<": operator.lt}
SETTING_COMBINES = {"max": max, "min": min}
TAGS = {"V", "A", "R"}


def load(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def within(protocol: dict, key: str, value) -> bool:
    """Whether `value` (or each of a list of values) is one the protocol runs for `key`."""
    runs = protocol[key] if isinstance(protocol[key], list) else [protocol[key]]
    return all(item in runs for item in (value if isinstance(value, list) else [value]))


def matches(where: dict, setting: dict) -> bool:
    return all(setting.get(key) in (value if isinstance(value, list) else [value]) for key, value in where.items())


def published_checks(repro: dict) -> tuple[int, list[tuple]]:
    """(checks made, failures): each claim against the comparable published figures it bears on."""
    figure, checked, failures = repro["aggregation"]["figure"], 0, []
    rows = [row for row in repro.get("published", []) if row.get("comparable", True)]
    for claim in repro["claims"]:
        holds = OPS[claim["op"]]
        for task in claim["tasks"]:
            for cell in claim["cells"]:
                figures = [row[figure][cell] for row in rows if row["task"] == task and cell in row[figure]
                           and matches(claim.get("where", {}), row.get("setting", {}))]
                if figures and "over_settings" in claim:
                    figures = [SETTING_COMBINES[claim["over_settings"]](figures)]
                for value in figures:
                    checked += 1
                    if not holds(value, claim["threshold"]):
                        failures.append((claim["id"], task, cell, value))
    return checked, failures


def test_every_file_is_listed_here():
    assert {path.stem for path in FILES} == set(PUBLISHED_CHECKS)


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_file_names_its_source_protocols_and_aggregation(path):
    repro = load(path)
    assert repro["name"] == path.stem and repro["title"]
    assert repro["source"]["paper"] and repro["source"]["url"].startswith("https://")
    aggregation = repro["aggregation"]
    assert aggregation["across_runs"] in {"max", "mean"} and aggregation["across"] and aggregation["metric"]
    assert repro["verdict"]["inconclusive_within"] > 0 and repro["verdict"]["min_runs"] >= 1
    assert {"paper", "cpu"} <= set(repro["protocol"]) <= {"paper", "cpu", "smoke"}
    for protocol in repro["protocol"].values():
        assert protocol["backbone"] in {"stack", "block"}
        assert all(protocol[key] for key in ("tasks", "cells", "lrs", "seeds"))
        assert set(protocol) == set(repro["protocol"]["paper"])  # a scale changes values, never which knobs


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_every_published_figure_is_tagged_and_sits_in_the_protocol(path):
    repro = load(path)
    figure, paper = repro["aggregation"]["figure"], repro["protocol"]["paper"]
    assert repro["published"]
    for row in repro["published"]:
        assert set(row) <= {"task", "tag", "setting", "comparable", "note", figure}, row
        assert row["tag"] in TAGS and row["task"] in paper["tasks"]
        assert row[figure] and all(isinstance(value, float) for value in row[figure].values())
        assert all(within(paper, key, value) for key, value in row.get("setting", {}).items()), row


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_claims_name_what_every_scale_runs_and_carry_a_fixed_threshold(path):
    repro = load(path)
    ids = [claim["id"] for claim in repro["claims"]]
    assert len(ids) == len(set(ids))
    for claim in repro["claims"]:
        assert claim["op"] in OPS and isinstance(claim["threshold"], float) and claim["text"] and claim["basis"]
        assert claim.get("over_settings", "max") in SETTING_COMBINES
        for protocol in (repro["protocol"]["paper"], repro["protocol"]["cpu"]):  # smoke checks files, not claims
            assert set(claim["tasks"]) <= set(protocol["tasks"]) and set(claim["cells"]) <= set(protocol["cells"])
            assert all(within(protocol, key, value) for key, value in claim.get("where", {}).items())


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_the_papers_comparable_figures_pass_the_claims_they_bear_on(path):
    repro = load(path)
    assert published_checks(repro) == (PUBLISHED_CHECKS[path.stem], [])
    # the check can fail: turned around, every claim fails on every figure it was checked on
    flipped = copy.deepcopy(repro)
    for claim in flipped["claims"]:
        claim["op"] = {">=": "<", "<": ">="}[claim["op"]]
    checked, failures = published_checks(flipped)
    assert len(failures) == checked == PUBLISHED_CHECKS[path.stem]
