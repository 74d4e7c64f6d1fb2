"""benchsuite.load_run and RunResult: every runs.csv column typed on load, checked cell by cell against the text as
the csv module reads it; extras round-trip as JSON; the other tables read typed."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas
import pytest

import benchsuite
from benchsuite.errors import BenchInputError
from benchsuite.results.files import RunWriter
from benchsuite.results.load import load_runs
from benchsuite.results.schema import BOOLEAN_COLUMNS, RUN_COLUMNS, TEXT_COLUMNS

ROW = {"task": "apple", "cell": "rnn", "backend": "torch", "num_layers": 1, "bidirectional": False, "hidden_size": 4,
       "lr": 0.1, "batch_size": None, "max_epochs": 2, "clip": None, "weight_decay": 0.0, "steps": None,
       "backbone": "stack", "preset": None, "schedule": "constant", "warmup_steps": 0, "seed": 0, "device": "cpu",
       "status": "ok", "final_loss": 1.25}


def _text_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _expected(column: str, text: str):
    """What a cell's text means, by the column's declared kind (blank: None)."""
    if column == "extras":
        return json.loads(text) if text else {}
    if text == "":
        return "" if column in ("device", "error") else None
    if column in TEXT_COLUMNS:
        return text
    if column in BOOLEAN_COLUMNS:
        return {"True": True, "False": False}[text]
    return float(text)


def _same(value, expected) -> bool:
    if expected is None:
        return value is None or value != value  # NaN
    return value == expected and isinstance(value, str) == isinstance(expected, str)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> benchsuite.RunResult:
    out = tmp_path_factory.mktemp("out")
    # Two cells, two directions on a causal task: ok rows and skipped rows with blank figures.
    return benchsuite.run(tasks="apple", cells="rnn,numpy-rnn", directions="uni,bi", epochs=2, threads=1,
                          device="cpu", out=str(out))


def test_every_column_is_typed_as_its_text_reads(run) -> None:
    loaded = benchsuite.load_run(run.run_dir)
    # Rows are read in key order: here by cell, then direction (the other key columns are the same in every row).
    text = sorted(_text_rows(run.run_dir / "runs.csv"), key=lambda row: (row["cell"], row["bidirectional"]))
    assert list(loaded.runs.columns)[:len(RUN_COLUMNS)] == RUN_COLUMNS and len(loaded.runs) == len(text) == 4
    for index, row in enumerate(text):
        for column in RUN_COLUMNS:
            value, expected = loaded.runs[column].iloc[index], _expected(column, row[column])
            assert _same(value, expected), (column, row[column], value)
    for column in ("num_layers", "hidden_size", "seed", "schema_version"):
        assert loaded.runs[column].dtype == "int64", column
    assert loaded.runs["bidirectional"].dtype == bool
    assert set(loaded.runs["status"]) == {"ok", "skipped"}
    assert (loaded.runs["extras"] == {}).all()


def test_run_returns_what_load_run_reads_and_keeps_the_old_table_answers(run) -> None:
    pandas.testing.assert_frame_equal(run.runs, benchsuite.load_run(run.run_dir).runs)
    assert run.meta == json.loads((run.run_dir / "meta.json").read_text())
    assert run.attrs == {"run_dir": str(run.run_dir), "not_run": 0, "resume": f"bench run --resume {run.run_dir}",
                         "notes": []}
    assert len(run) == 4 and run["status"].tolist() == run.runs["status"].tolist()
    assert run.columns.tolist() == run.runs.columns.tolist()  # DataFrame attributes reach the runs table
    pandas.testing.assert_frame_equal(run[run.bidirectional], run.runs[run.runs["bidirectional"]])


def test_other_tables_are_read_typed(run) -> None:
    loaded = benchsuite.load_run(run.run_dir)
    samples = _text_rows(run.run_dir / "samples.csv")
    assert len(loaded.samples) == len(samples) and loaded.samples["warmup"].dtype == bool
    assert loaded.samples["warmup"].tolist() == [row["warmup"] == "True" for row in samples]
    assert loaded.curves["value"].tolist() == [float(row["value"]) for row in _text_rows(run.run_dir / "curves.csv")]
    summary = _text_rows(run.run_dir / "summary.csv")
    assert loaded.summary["n_seeds"].tolist() == [int(row["n_seeds"]) for row in summary]
    assert loaded.summary["bidirectional"].tolist() == [row["bidirectional"] == "True" for row in summary]
    assert loaded.slices is None or len(loaded.slices) == len(_text_rows(run.run_dir / "slices.csv"))


def test_extras_round_trip_as_json_and_are_empty_where_absent(tmp_path) -> None:
    extras = {"tokens_per_second": 1234.5, "note": "warm cache", "layers": [1, 2]}
    with RunWriter(tmp_path) as writer:
        writer.append({**ROW, "extras": extras}, [])
        writer.append({**ROW, "seed": 1}, [])
    text = _text_rows(tmp_path / "runs.csv")
    assert json.loads(text[0]["extras"]) == extras and text[1]["extras"] == ""
    assert load_runs(tmp_path / "runs.csv")["extras"].tolist() == [extras, {}]


def test_a_runs_csv_from_before_extras_reads_with_them_empty(tmp_path) -> None:
    path = tmp_path / "runs.csv"
    with RunWriter(tmp_path) as writer:
        writer.append(ROW, [])
    table = pandas.read_csv(path, dtype=str, keep_default_na=False).drop(columns="extras")
    table.to_csv(path, index=False)
    assert load_runs(path)["extras"].tolist() == [{}]


def test_extras_that_are_not_a_json_object_are_bad_input(tmp_path) -> None:
    path = tmp_path / "runs.csv"
    with RunWriter(tmp_path) as writer:
        writer.append(ROW, [])
    table = pandas.read_csv(path, dtype=str, keep_default_na=False)
    table["extras"] = "[1, 2]"
    table.to_csv(path, index=False)
    with pytest.raises(BenchInputError, match=r"runs.csv, line 2: extras '\[1, 2\]' is not a JSON object"):
        load_runs(path)


def test_a_slices_csv_from_before_the_later_settings_reads_as_written(tmp_path) -> None:
    # A run folder written before --steps, --backbone, --preset, --schedule and --warmup has none of their columns in
    # slices.csv (as in runs.csv); `bench report` on it must still read its slices.
    later = ["steps", "backbone", "preset", "schedule", "warmup_steps"]
    point = {"split": "test", "slice_name": "length", "slice": 7, "value": 0.25, "count": 12}
    with RunWriter(tmp_path) as writer:
        writer.append(ROW, [], slices=[point])
    path = tmp_path / "slices.csv"
    pandas.read_csv(path, dtype=str, keep_default_na=False).drop(columns=later).to_csv(path, index=False)
    assert not set(later) & set(_text_rows(path)[0])
    loaded = benchsuite.load_run(tmp_path).slices
    assert len(loaded) == 1
    row = loaded.iloc[0]
    assert (row["task"], row["cell"], row["seed"], row["split"], row["slice_name"]) == ("apple", "rnn", 0, "test",
                                                                                        "length")
    assert (row["slice"], row["value"], row["count"]) == (7, 0.25, 12)
