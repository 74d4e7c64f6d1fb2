"""The first report a new user sees (issue 29): no Tuned section or scoreboard where nothing was swept, no `.lock`
left in a finished run folder, rows in key order whatever order they finished in, only the settings that vary in
the Tuned table, and a hint beside a variant that trained far worse than the others at one shared setting."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas
import pytest

from benchsuite.report.markdown import summary_markdown
from benchsuite.results.load import load_meta, load_runs
from benchsuite.results.summary import write_summary
from helpers.cli import invoke
from helpers.runs import only_run_dir

SETTINGS = ["lr", "batch_size", "max_epochs", "clip", "weight_decay", "steps", "backbone", "preset", "schedule",
            "warmup_steps"]


def run_folder(out: Path, *options: str) -> Path:
    """`bench run` on apple, its report written as a user's run writes it."""
    result = invoke("run", "--tasks", "apple", "--cells", "rnn,gru", "--device", "cpu", "--threads", "1", "--out",
                    out, *options)
    assert result.exit_code == 0, result.output
    return only_run_dir(out)


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    """A run that sweeps nothing, as a new user's first: the task's defaults, one seed."""
    return run_folder(tmp_path_factory.mktemp("plain"))


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> Path:
    """A short run that sweeps the learning rate, over two seeds."""
    return run_folder(tmp_path_factory.mktemp("swept"), "--epochs", "2", "--lr", "0.1,0.05", "--seeds", "0,1")


def markdown_of(run_dir: Path) -> str:
    return summary_markdown(run_dir.name, load_runs(run_dir / "runs.csv"), load_meta(run_dir / "meta.json"), [])


def test_nothing_swept_has_no_tuned_section_or_scoreboard(plain: Path) -> None:
    text = (plain / "summary.md").read_text()
    assert "## apple" in text
    assert "## Tuned" not in text and "Scoreboard" not in text and "IQM" not in text


def test_a_sweep_keeps_its_tuned_section(swept: Path) -> None:
    text = (swept / "summary.md").read_text()
    assert "## Tuned" in text and "### Scoreboard" in text


def test_a_finished_run_leaves_no_lock_file(plain: Path, swept: Path) -> None:
    assert not (plain / ".lock").exists() and not (swept / ".lock").exists()


def test_the_tuned_table_shows_only_the_settings_that_vary(swept: Path) -> None:
    runs = pandas.read_csv(swept / "runs.csv")  # pandas' own reading, not the suite's
    varying = [column for column in SETTINGS if runs[column].nunique(dropna=False) > 1]
    assert varying == ["lr"]
    section = (swept / "summary.md").read_text().split("## Tuned")[1]
    header = next(line for line in section.splitlines() if line.startswith("| task"))
    shown = [cell.strip() for cell in header.strip("|").split("|")]
    assert [column for column in shown if column in SETTINGS] == varying


def reordered(run_dir: Path, into: Path) -> Path:
    """A copy of `run_dir` whose runs.csv lists its rows in reverse, as a Ray run writes them as they finish."""
    into.mkdir()
    for path in run_dir.iterdir():
        if path.is_file():
            (into / path.name).write_bytes(path.read_bytes())
    with open(run_dir / "runs.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    with open(into / "runs.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([rows[0], *reversed(rows[1:])])
    return into


def test_rows_are_read_in_key_order_whatever_order_they_finished_in(swept: Path, tmp_path: Path) -> None:
    shuffled = reordered(swept, tmp_path / "shuffled")
    assert (shuffled / "runs.csv").read_text() != (swept / "runs.csv").read_text()
    expected = pandas.read_csv(swept / "runs.csv").sort_values(["cell", "lr", "seed"])[["cell", "lr", "seed"]]
    for folder in (swept, shuffled):
        keys = load_runs(folder / "runs.csv")[["cell", "lr", "seed"]]
        assert keys.values.tolist() == expected.values.tolist()
    write_summary(swept), write_summary(shuffled)
    assert (shuffled / "summary.csv").read_text() == (swept / "summary.csv").read_text()
    assert markdown_of(shuffled).replace("shuffled", swept.name) == markdown_of(swept)


def test_a_variant_far_below_the_others_at_one_shared_setting_gets_a_hint(plain: Path, tmp_path: Path) -> None:
    # As the transformer on ship at lr 0.1: the task's one learning rate suits the other cells, not this one.
    worse = reordered(plain, tmp_path / "worse")
    runs = pandas.read_csv(worse / "runs.csv")
    runs.loc[runs["cell"] == "gru", "accuracy"] = 0.189
    runs.to_csv(worse / "runs.csv", index=False)
    text = markdown_of(worse)
    hints = [line for line in text.splitlines() if line.startswith("- ") and "gru" in line and "--lr" in line]
    assert len(hints) == 1, text
    assert re.search(r"0\.189\b.*\b1\b", hints[0])  # its accuracy and the best one
    assert "lr 0.1" in hints[0]
    assert not [line for line in markdown_of(plain).splitlines() if "--lr" in line]  # no hint when all did well


def test_a_sweep_over_a_setting_whose_neutral_value_has_no_short_label_is_reported(tmp_path: Path) -> None:
    # --warmup 0 and --schedule constant are neutral (names leave them out) but have no label of their own such as
    # `noclip`: where they vary, the report names them by value instead of failing to report.
    run = run_folder(tmp_path, "--epochs", "1", "--warmup", "0,1", "--schedule", "constant,cosine")
    text = (run / "summary.md").read_text()
    assert (run / "loss_curves.png").is_file()
    with open(run / "runs.csv", newline="") as handle:
        expected = {f"{row['cell']} 1L uni h{row['hidden_size']} schedule={row['schedule']} "
                    f"warmup_steps={row['warmup_steps']}" for row in csv.DictReader(handle)}
    assert len(expected) == 8
    shown = {line.split("|")[1].strip() for line in text.split("## apple\n")[1].split("\n## ")[0].splitlines()
             if line.startswith("| ") and "schedule=" in line}
    assert shown == expected
