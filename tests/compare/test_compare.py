"""`bench compare` end to end on fixture runs: exit codes, what it names, golden outputs, bad input."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from benchsuite.results.schema import KEY_COLUMNS
from helpers.cli import assert_bad_input, invoke
from helpers.fixture_files import COMPARE_FIXTURES, check_golden, copy_fixture


def edit_rows(runs_csv: Path, edit) -> None:
    """Rewrite runs.csv through the csv module, calling `edit(row)` on each row dict."""
    with open(runs_csv, newline="") as handle:
        reader = csv.DictReader(handle)
        columns, rows = reader.fieldnames, list(reader)
    for row in rows:
        edit(row)
    columns += list(dict.fromkeys(column for row in rows for column in row if column not in columns))  # new ones
    with open(runs_csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


def lower_ship_gru_accuracy(row) -> None:
    """The edit behind a clear regression: ship gru loses 0.3 accuracy on every seed."""
    if row["task"] == "ship" and row["cell"] == "gru":
        row["accuracy"] = repr(float(row["accuracy"]) - 0.3)


def json_report(*args: str) -> dict:
    result = invoke("compare", *args, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.fixture
def in_fixtures(monkeypatch):
    """Run from the fixtures folder so outputs name sides by short relative paths."""
    monkeypatch.chdir(COMPARE_FIXTURES)


def test_a_run_compared_with_itself_exits_0():
    result = invoke("compare", str(COMPARE_FIXTURES / "base"), str(COMPARE_FIXTURES / "base" / "runs.csv"))
    assert result.exit_code == 0, result.output
    assert "result: no regression" in result.stdout
    assert "regressed" not in result.stdout and "warning" not in result.stdout


@pytest.mark.parametrize("seeds", [("0", "1", "2"), ("0",)])
def test_one_cell_losing_0_3_accuracy_exits_1_and_is_named(tmp_path, seeds):
    before, after = copy_fixture("base", tmp_path / "a"), copy_fixture("base", tmp_path / "b")
    def keep_seeds(row):
        if row["seed"] not in seeds:
            row["status"] = "skipped"
    for side in (before, after):  # the same seeds on both sides, from one seed up to three
        edit_rows(side / "runs.csv", keep_seeds)

    edit_rows(after / "runs.csv", lower_ship_gru_accuracy)

    result = invoke("compare", str(before), str(after))
    assert result.exit_code == 1, result.output
    regressed = result.stdout.split("regressed (1):")[1].split("result:")[0]
    assert "ship" in regressed and "gru" in regressed and "accuracy" in regressed
    verdicts = {(m["task"], m["cell"], m["metric"]) for m in json_report(str(before), str(after))["metrics"]
                if m["verdict"] == "regressed"}
    assert verdicts == {("ship", "gru", "accuracy")}


def test_a_newly_failing_row_alone_exits_1(tmp_path):
    before, after = copy_fixture("base", tmp_path / "a"), copy_fixture("base", tmp_path / "b")

    def diverge(row):
        if row["task"] == "apple" and row["cell"] == "gru" and row["seed"] == "2":
            row.update(status="diverged", error="loss became nan at epoch 3", accuracy="", final_loss="")
    edit_rows(after / "runs.csv", diverge)
    result = invoke("compare", str(before), str(after))
    assert result.exit_code == 1
    assert "newly failing (1)" in result.stdout and "loss became nan at epoch 3" in result.stdout
    assert "regressed (" not in result.stdout


def test_the_same_failure_on_both_sides_is_not_new(tmp_path):
    before, after = copy_fixture("worse", tmp_path / "a"), copy_fixture("worse", tmp_path / "b")
    result = invoke("compare", str(before), str(after))
    assert result.exit_code == 0, result.output


def test_threshold_option_decides_what_counts(tmp_path):
    before, after = copy_fixture("base", tmp_path / "a"), copy_fixture("base", tmp_path / "b")

    edit_rows(after / "runs.csv", lower_ship_gru_accuracy)
    assert invoke("compare", str(before), str(after), "--threshold", "accuracy=0.5").exit_code == 0
    assert invoke("compare", str(before), str(after), "--threshold", "accuracy=0.2").exit_code == 1


def test_timings_are_judged_per_run_and_three_runs_a_side_get_no_verdict():
    # extended_b's rnn steps are 1.5x slower; its samples.csv holds ~90 steps a side, but the unit is the run.
    report = json_report(str(COMPARE_FIXTURES / "extended_a"), str(COMPARE_FIXTURES / "extended_b"))
    [step] = [m for m in report["metrics"] if m["cell"] == "rnn" and m["metric"] == "step_ms_median"]
    assert (step["test"], step["verdict"], step["n_a"], step["n_b"]) == ("too-few-runs", "too_few_runs", 3, 3)
    with open(COMPARE_FIXTURES / "extended_a" / "runs.csv", newline="") as handle:
        medians = sorted(float(row["step_ms_median"]) for row in csv.DictReader(handle) if row["cell"] == "rnn")
    assert step["a"] == pytest.approx(medians[1])  # the median of the three per-run medians


def test_a_variant_whose_rows_are_all_skipped_in_b_is_listed_as_lost(tmp_path):
    after = copy_fixture("base", tmp_path)

    def skip_ship_gru(row):
        if row["task"] == "ship" and row["cell"] == "gru":
            row.update({column: "" for column in row if column not in ("schema_version", *KEY_COLUMNS, "device")},
                       status="skipped")  # a skipped row keeps its key, settings included
    edit_rows(after / "runs.csv", skip_ship_gru)
    result = invoke("compare", str(COMPARE_FIXTURES / "base"), str(after))
    assert "lost in B (every row skipped or without figures) (1):" in result.stdout
    report = json_report(str(COMPARE_FIXTURES / "base"), str(after))
    assert [(lost["task"], lost["cell"]) for lost in report["lost"]] == [("ship", "gru")]


@pytest.mark.parametrize("fmt,golden", [("text", "base_vs_worse.txt"), ("md", "base_vs_worse.md"),
                                        ("csv", "base_vs_worse.csv"), ("json", "base_vs_worse.json")])
def test_base_against_worse_matches_golden_output(in_fixtures, fmt, golden):
    result = invoke("compare", "base", "worse", "--format", fmt)
    assert result.exit_code == 1
    check_golden(golden, result.stdout)


def test_extended_columns_match_golden_output(in_fixtures):
    # Columns other issues add (threads, infer_ms_median, chars_per_second, peak_memory_mb, per-step samples).
    result = invoke("compare", "extended_a", "extended_b")
    assert result.exit_code == 1
    check_golden("extended_a_vs_b.txt", result.stdout)


def test_a_setting_shows_in_the_text_tables_only_where_some_variant_sets_it(tmp_path):
    """Neutral settings (no clipping, the stack backbone, ...) are left out of the text; one that a side sets shows,
    and the JSON keeps every key column."""
    sides = [copy_fixture(name, tmp_path / name) for name in ("base", "worse")]

    def clip_ship_gru(row) -> None:
        if row["task"] == "ship" and row["cell"] == "gru":
            row["clip"] = "0.5"

    def header(text: str) -> list[str]:
        return next(line.split() for line in text.splitlines() if line.split()[:2] == ["task", "cell"])

    plain = header(invoke("compare", *sides).stdout)
    assert "clip" not in plain and "backbone" not in plain and "lr" in plain
    for side in sides:
        edit_rows(side / "runs.csv", clip_ship_gru)
    clipped = invoke("compare", *sides).stdout
    assert "clip" in header(clipped) and "backbone" not in header(clipped)
    assert [line.split()[header(clipped).index("clip")] for line in clipped.splitlines()
            if line.split()[:2] == ["ship", "gru"]] == ["0.5"]
    assert set(KEY_COLUMNS) - {"seed"} <= set(json_report(*map(str, sides))["metrics"][0])


def test_environment_differences_are_warned_about(in_fixtures):
    result = invoke("compare", "base", "worse")
    assert "warning: the sides ran in different environments" in result.stdout
    assert "torch: A 2.13.0+cpu / B 2.12.0+cpu" in result.stdout and "threads: A 2 / B 4" in result.stdout


def test_rows_run_with_other_task_or_cell_options_are_flagged(tmp_path):
    """delay.gap=3 against gap=30 shows in no key column: the environment check names it."""
    sides = [copy_fixture("base", tmp_path / name) for name in ("a", "b")]
    for side, gap in zip(sides, ("3", "30")):
        meta = json.loads((side / "meta.json").read_text())
        options = {"task_opts": {"delay": {"gap": gap}}, "cell_opts": {"lstm": {"forget_bias": "1.0"}}}
        (side / "meta.json").write_text(json.dumps({**meta, "options": options}))
    differences = json_report(str(sides[0]), str(sides[1]))["environment_differences"]
    assert differences == [{"fact": "task options", "a": "delay.gap=3", "b": "delay.gap=30"}]
    assert "task options: A delay.gap=3 / B delay.gap=30" in invoke("compare", *sides).stdout


def test_two_pytest_benchmark_files_are_compared(in_fixtures):
    """One pass of a benchmark is one sample: 3.5 ms against 2 ms is beyond the threshold, but one pass a side is
    too few for a verdict on a timing (its rounds are not independent runs)."""
    assert invoke("compare", "bench_a.json", "bench_a.json").exit_code == 0
    result = invoke("compare", "bench_a.json", "bench_b.json")
    assert result.exit_code == 0
    check_golden("bench_a_vs_b.txt", result.stdout)


def slower_pass(tmp_path: Path, factor: float, name: str = "b.json") -> Path:
    """bench_a.json with every round and statistic of every benchmark `factor` times as long."""
    document = json.loads((COMPARE_FIXTURES / "bench_a.json").read_text())
    for benchmark in document["benchmarks"]:
        stats = benchmark["stats"]
        for field in ("min", "max", "mean", "median", "q1", "q3"):
            stats[field] *= factor
        stats["data"] = [value * factor for value in stats["data"]]
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def test_one_pass_of_a_benchmark_is_one_sample_not_its_rounds(tmp_path):
    """Two passes 1.19x apart: pooling each pass's 12 rounds made this 'REGRESSION, p = 2e-46'; one figure a side
    is too few for a timing verdict."""
    report = json_report(str(COMPARE_FIXTURES / "bench_a.json"), str(slower_pass(tmp_path, 1.19)))
    assert not report["regressed"]
    assert {(m["verdict"], m["n_a"], m["n_b"]) for m in report["metrics"]} == {("too_few_runs", 1, 1)}
    medians = [b["stats"]["median"] * 1e3 for b in json.loads((COMPARE_FIXTURES / "bench_a.json").read_text())[
        "benchmarks"]]
    assert sorted(m["a"] for m in report["metrics"]) == pytest.approx(sorted(medians))


@pytest.mark.parametrize("lost", [math.nan, math.inf])
def test_a_benchmark_whose_time_is_no_number_fails(tmp_path, lost):
    broken = slower_pass(tmp_path, lost)
    result = invoke("compare", str(COMPARE_FIXTURES / "bench_a.json"), str(broken))
    assert result.exit_code == 1, result.output
    assert "newly failing (2)" in result.stdout


def test_a_baseline_compared_with_itself_keeps_every_side_and_the_shape(tmp_path):
    base, slower = str(COMPARE_FIXTURES / "base"), copy_fixture("base", tmp_path / "b")
    report = json_report(base, base, str(slower), "--baseline", base)
    assert [c["b"]["source"] for c in report["comparisons"]] == [base, str(slower)]
    alone = json_report(base, str(slower), "--baseline", base)
    assert set(alone) == {"baseline", "regressed", "comparisons"} and len(alone["comparisons"]) == 1


@pytest.mark.parametrize("content,fragment", [
    (bytes(range(256)) * 3, "not a readable runs.csv"),
    (b"hello world\nfoo,bar\n1,2,3,4\n", "not a readable runs.csv"),
    (b"task,cell\napple,rnn\n", "missing column(s) schema_version"),
    (b"", "not a readable runs.csv"),
])
def test_garbage_csv_is_bad_input(tmp_path, content, fragment):
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(content)
    assert_bad_input(invoke("compare", str(COMPARE_FIXTURES / "base"), str(garbage)), "garbage.csv", fragment)


@pytest.mark.parametrize("content,fragment", [
    ("{nope", "not a readable JSON file"),
    ('{"benchmarks": ' + "[" * 100_000 + "]" * 100_000 + "}", "not a readable JSON file (nested too deeply)"),
    ('{"benchmarks": 3}', "no 'benchmarks' list"),
    ('{"benchmarks": [{"name": "x"}]}', "expected an object with 'fullname' and 'stats'"),
    ('{"benchmarks": [{"fullname": "x", "stats": {"mean": 1}}]}', "needs a numeric median"),
])
def test_malformed_benchmark_json_is_bad_input(tmp_path, content, fragment):
    broken = tmp_path / "broken.json"
    broken.write_text(content)
    assert_bad_input(invoke("compare", str(broken), str(COMPARE_FIXTURES / "bench_a.json")), fragment)


def test_missing_file_and_folder_without_runs_are_bad_input(tmp_path):
    assert_bad_input(invoke("compare", str(tmp_path / "nothing.csv"), str(COMPARE_FIXTURES / "base")),
                     "nothing.csv", "no such file or folder")
    assert_bad_input(invoke("compare", str(tmp_path), str(COMPARE_FIXTURES / "base")), "has no runs.csv")


def test_a_cell_that_is_not_a_number_is_bad_input(tmp_path):
    runs = copy_fixture("base", tmp_path) / "runs.csv"
    edit_rows(runs, lambda row: row.update(accuracy="lots") if row["seed"] == "2" and row["cell"] == "gru" else None)
    assert_bad_input(invoke("compare", str(runs), str(runs)), "line 7", "accuracy 'lots' is not a number")


def test_another_schema_version_is_bad_input_naming_both_versions(tmp_path):
    runs = copy_fixture("base", tmp_path) / "runs.csv"
    edit_rows(runs, lambda row: row.update(schema_version="7"))
    assert_bad_input(invoke("compare", str(COMPARE_FIXTURES / "base"), str(runs)),
                     "schema_version 7", "reads schema_version 1")


def test_another_schema_version_in_meta_json_is_bad_input(tmp_path):
    run = copy_fixture("base", tmp_path)
    meta = json.loads((run / "meta.json").read_text())
    (run / "meta.json").write_text(json.dumps({**meta, "schema_version": 2}))
    assert_bad_input(invoke("compare", str(run), str(run)), "meta.json", "schema_version 2")


def test_sides_of_different_kinds_are_bad_input():
    assert_bad_input(invoke("compare", str(COMPARE_FIXTURES / "base"), str(COMPARE_FIXTURES / "bench_a.json")),
                     "give two of the same kind")


def test_nothing_in_common_is_said_plainly(tmp_path):
    empty = tmp_path / "runs.csv"
    empty.write_text((COMPARE_FIXTURES / "base" / "runs.csv").read_text().splitlines()[0] + "\n")
    result = invoke("compare", str(empty), str(COMPARE_FIXTURES / "base"))
    assert result.exit_code == 0
    assert "warning: no variant is on both sides" in result.stdout
    assert "only in B (4)" in result.stdout
