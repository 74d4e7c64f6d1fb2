"""Hardening (issue 17): what reports print. Markdown output escapes every name and message a run folder holds; a
comparison whose B lost data A has says so and fails. (D10, D14)"""
from __future__ import annotations

import json

from markdown_it import MarkdownIt

from benchsuite.report.markdown import summary_markdown
from benchsuite.results.files import read_csv_rows
from benchsuite.results.load import load_runs
from helpers.fixture_files import HOSTILE_CELL, HOSTILE_ERROR, HOSTILE_TASK, copy_fixture, rewrite


def tokens(markdown: str) -> list:
    return MarkdownIt("commonmark").enable("table").parse(markdown)


def inline_types(parsed: list) -> set[str]:
    return {child.type for token in parsed for child in (token.children or [])}


# D10: only `|` was escaped: a multi-line error split table rows, crafted names injected headings, HTML and images.
def test_summary_markdown_shows_hostile_names_and_errors_as_text(tmp_path):
    run_dir = copy_fixture("base", tmp_path)

    def hostile(index: int, row: dict) -> dict:
        row = {**row, "task": HOSTILE_TASK, "cell": HOSTILE_CELL}
        return {**row, "status": "error", "error": HOSTILE_ERROR} if index == 0 else row

    rewrite(run_dir, hostile)
    runs = load_runs(run_dir / "runs.csv")
    variants = runs.groupby(["cell", "num_layers", "bidirectional", "hidden_size"]).ngroups
    parsed = tokens(summary_markdown("run <b>1</b>", runs, None, []))
    types = {token.type for token in parsed} | inline_types(parsed)
    assert not types & {"html_block", "html_inline", "image", "link_open", "ordered_list_open"}
    # The title and the one task (nothing was swept, so no "Tuned" section): none injected by a name.
    assert [token.tag for token in parsed if token.type == "heading_open"] == ["h1", "h2"]
    assert sum(token.type == "tr_open" for token in parsed) == 1 + variants  # header, one row per variant
    assert sum(token.type == "list_item_open" for token in parsed) == 1  # the one row that is not ok
    text = " ".join(child.content for token in parsed for child in (token.children or []) if child.type == "text")
    for shown in ("<img src=x onerror=alert(1)> # injected heading", "![remote](http://attacker.example/pixel.png)\\",
                  "<script>alert(1)</script> 1. a list", "run <b>1</b>"):
        assert shown in text


def test_compare_markdown_shows_hostile_names_as_text(bench, tmp_path):
    a, b = copy_fixture("base", tmp_path / "a"), copy_fixture("base", tmp_path / "b")
    for side in (a, b):
        rewrite(side, lambda index, row: {**row, "cell": HOSTILE_CELL})
    rewrite(b, lambda index, row: {**row, "status": "error", "error": HOSTILE_ERROR} if index == 0 else row)
    result = bench("compare", str(a), str(b), "--format", "md")
    parsed = tokens(result.stdout)
    assert not ({token.type for token in parsed} | inline_types(parsed)) & {"html_block", "html_inline", "image"}
    headings = [token for token in parsed if token.type == "heading_open"]
    assert [token.tag for token in headings] == ["h1"] + ["h2"] * (len(headings) - 1)  # ours only: none injected
    newly_failing = [token for token in parsed if token.type == "inline" and "first line" in token.content]
    assert len(newly_failing) == 1  # the error stayed in its one cell


# D14: a B with only a header, or with blank / NaN metrics, passed as "no regression" and nothing was said.
def test_a_b_without_rows_is_a_regression(bench, tmp_path):
    a, b = copy_fixture("base", tmp_path / "a"), copy_fixture("base", tmp_path / "b")
    (b / "runs.csv").write_text((b / "runs.csv").read_text().splitlines(keepends=True)[0])
    (b / "curves.csv").unlink()
    result = bench("compare", str(a), str(b))
    assert result.exit_code == 1, result.output
    assert f"result: REGRESSION: B has no rows; everything A measured ({len(read_csv_rows(a / 'runs.csv'))} rows) " \
           "was lost" in result.output


def test_metrics_b_lost_are_listed_and_fail_the_comparison(bench, tmp_path):
    a, b = copy_fixture("base", tmp_path / "a"), copy_fixture("base", tmp_path / "b")
    rewrite(b, lambda index, row: {**row, "step_ms_median": "nan", "accuracy": ""})
    result = bench("compare", str(a), str(b), "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    lost = [(entry["task"], entry["cell"], entry["metric"]) for entry in report["lost_metrics"]]
    variants = {(row["task"], row["cell"]) for row in read_csv_rows(a / "runs.csv") if row["status"] == "ok"}
    assert sorted(lost) == sorted((*variant, metric) for variant in variants
                                  for metric in ("accuracy", "step_ms_median"))
    text = bench("compare", str(a), str(b)).output
    assert f"lost in B: A measured these, B's ok rows have no figure ({len(lost)}):" in text
    assert f"{len(lost)} lost metric(s)" in text
