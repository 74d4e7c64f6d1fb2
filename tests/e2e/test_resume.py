"""Nothing finished is lost: kill -9 keeps every finished row, Ctrl-C drops only the row in flight, --resume
finishes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas
import pytest

import benchsuite
from benchsuite.results.files import read_csv_rows
from benchsuite.results.schema import KEY_COLUMNS, row_key
from helpers.cli import assert_bad_input
from helpers.faulty_cells import write_plugin
from helpers.runs import only_run_dir, wait_for_rows

SEEDS = [str(seed) for seed in range(12)]


def curve_counts(run_dir: Path) -> dict[tuple, int]:
    """How often each (row key, epoch, metric) appears in curves.csv."""
    counts: dict[tuple, int] = {}
    for point in read_csv_rows(run_dir / "curves.csv"):
        key = (*row_key(point), int(point["epoch"]), point["metric"])
        counts[key] = counts.get(key, 0) + 1
    return counts


def assert_each_curve_once(run_dir: Path, seeds: int, epochs: int) -> None:
    """Every seed's curve has each of its epochs' points exactly once: nothing lost, nothing doubled."""
    counts = curve_counts(run_dir)
    assert set(counts.values()) == {1}
    metrics = {key[-1] for key in counts}
    assert {key[KEY_COLUMNS.index("seed")] for key in counts} == set(range(seeds))
    assert len(counts) == seeds * epochs * len(metrics) and {key[-2] for key in counts} == set(range(1, epochs + 1))


def assert_samples_match_rows(run_dir: Path) -> None:
    """samples.csv holds timings of exactly the rows in runs.csv, none twice."""
    samples = [(*row_key(point), point["metric"], point["sample"], point["epoch"])
               for point in read_csv_rows(run_dir / "samples.csv")]
    assert len(samples) == len(set(samples))
    keys = {row_key(row) for row in read_csv_rows(run_dir / "runs.csv")}
    assert {sample[:len(KEY_COLUMNS)] for sample in samples} == keys


@pytest.mark.slow  # a second interpreter imports torch
def test_kill_9_keeps_the_finished_rows_and_resume_completes_the_sweep(tmp_path, bench):
    plugins, out = write_plugin(tmp_path / "plugins"), tmp_path / "out"
    progress = tmp_path / "progress.txt"
    with open(progress, "w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "benchsuite", "run", "--tasks", "apple", "--cells", "slow", "--seeds",
             ",".join(SEEDS),
             "--epochs", "4", "--device", "cpu", "--plugins-dir", str(plugins), "--out", str(out)],
            stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, "OMP_NUM_THREADS": "1"})
        try:
            while not out.exists() or not any(out.iterdir()):
                assert child.poll() is None, progress.read_text()
                time.sleep(0.02)
            run_dir = only_run_dir(out)
            wait_for_rows(run_dir / "runs.csv", 3, child)
        finally:
            child.kill()  # SIGKILL: no handler, no flush, no cleanup
            child.wait()
    assert child.returncode == -9

    before = read_csv_rows(run_dir / "runs.csv")
    reported = progress.read_text().count(": ok")
    assert 3 <= len(before) < 12 and all(row["status"] == "ok" for row in before)
    assert reported <= len(before) <= reported + 1  # a row is on disk before its progress line is printed
    assert len(pandas.read_csv(run_dir / "runs.csv")) == len(before)  # the file parses as it is

    resumed = bench("run", "--resume", str(run_dir), "--plugins-dir", str(plugins))
    assert resumed.exit_code == 0, resumed.output
    after = read_csv_rows(run_dir / "runs.csv")
    assert sorted(int(row["seed"]) for row in after) == list(range(12))  # 12 rows, none twice
    assert after[:len(before)] == before  # the finished rows were kept as they were, not run again
    assert [row["epochs"] for row in after] == ["4"] * 12  # the resumed rows used the run's own options
    assert_each_curve_once(run_dir, seeds=12, epochs=4)
    assert_samples_match_rows(run_dir)
    (record,) = json.loads((run_dir / "meta.json").read_text())["resumes"]
    assert (record["kept_rows"], record["planned_rows"]) == (len(before), 12 - len(before))


def test_ctrl_c_drops_the_row_in_flight_and_says_how_to_resume(tmp_path, bench):
    plugins, out = write_plugin(tmp_path / "plugins"), tmp_path / "out"
    stopped = bench("run", "--tasks", "apple", "--cells", "ctrl_c_on_3rd_run", "--seeds", "0,1,2,3", "--epochs", "3",
                     "--device", "cpu", "--plugins-dir", str(plugins), "--out", str(out))

    run_dir = only_run_dir(out)
    assert stopped.exit_code == 130
    assert (f"interrupted: 2 of 4 rows finished and are kept in {run_dir}/runs.csv; the row in flight was dropped. "
            f"Finish the run with: bench run --resume {run_dir} --plugins-dir {plugins}") in stopped.output
    assert [row["seed"] for row in read_csv_rows(run_dir / "runs.csv")] == ["0", "1"]
    seeds = {key[KEY_COLUMNS.index("seed")] for key in curve_counts(run_dir)}
    assert seeds == {0, 1}  # nothing of the dropped row either

    # this plugin interrupts only its third run in a process
    finished = bench("run", "--resume", str(run_dir), "--plugins-dir", str(plugins))
    assert finished.exit_code == 0, finished.output
    assert [row["seed"] for row in read_csv_rows(run_dir / "runs.csv")] == ["0", "1", "2", "3"]


def test_resume_takes_the_runs_options_and_widens_its_grid(tmp_path, bench):
    first = bench("run", "--tasks", "apple", "--cells", "rnn", "--epochs", "2", "--device", "cpu", "--out",
                  str(tmp_path))
    assert first.exit_code == 0, first.output
    run_dir = only_run_dir(tmp_path)
    (original,) = read_csv_rows(run_dir / "runs.csv")

    more = bench("run", "--resume", str(run_dir), "--seeds", "0,1", "--cells", "rnn,gru")
    assert more.exit_code == 0, more.output
    rows = read_csv_rows(run_dir / "runs.csv")
    assert rows[0] == original
    assert sorted((row["cell"], row["seed"], row["epochs"]) for row in rows) == [
        ("gru", "0", "2"), ("gru", "1", "2"), ("rnn", "0", "2"), ("rnn", "1", "2")]


def test_the_same_command_with_resume_added_is_accepted(tmp_path, bench):
    command = ["run", "--tasks", "apple", "--cells", "rnn", "--seeds", "0", "--epochs", "2", "--device", "cpu",
               "--out", str(tmp_path)]
    first = bench(*command)
    assert first.exit_code == 0, first.output
    run_dir = only_run_dir(tmp_path)
    # Press up, widen the seeds, add --resume: --out names the run's own parent, so it is no conflict.
    again = bench(*command[:6], "0,1", *command[7:], "--resume", str(run_dir))
    assert again.exit_code == 0, again.output
    assert only_run_dir(tmp_path) == run_dir
    assert [row["seed"] for row in read_csv_rows(run_dir / "runs.csv")] == ["0", "1"]


def test_resume_cleans_a_torn_row_and_orphan_curves(tmp_path, bench):
    first = bench("run", "--tasks", "apple", "--cells", "rnn", "--seeds", "0,1", "--epochs", "2", "--device", "cpu",
                   "--out", str(tmp_path))
    assert first.exit_code == 0, first.output
    run_dir = only_run_dir(tmp_path)
    runs = run_dir / "runs.csv"
    # As a kill would leave them: seed 1's row cut mid-line, its curve complete.
    kept_text = runs.read_text().splitlines(keepends=True)
    runs.write_text("".join(kept_text[:2]) + kept_text[2][:30])
    assert [row["seed"] for row in read_csv_rows(runs)] == ["0"]

    table = benchsuite.run(resume=run_dir)  # the same from Python
    assert list(table["seed"]) == [0, 1] and list(table["status"]) == ["ok", "ok"]
    assert [row["seed"] for row in read_csv_rows(runs)] == ["0", "1"]
    assert runs.read_text().count("\n") == 3
    assert_each_curve_once(run_dir, seeds=2, epochs=2)
    assert_samples_match_rows(run_dir)
    assert not list(run_dir.glob(".*tmp*"))  # atomic rewrites leave no temporary files behind


# Issue 29, item 4: a relative text.path was recorded as typed, so a resume from another folder trained on another
# corpus.txt (another vocabulary, another full batch) beside the rows kept from the first.
def test_a_resume_reads_the_files_the_run_read_and_refuses_them_changed(tmp_path, bench, monkeypatch):
    first, other, out = tmp_path / "first", tmp_path / "other", tmp_path / "out"
    first.mkdir()
    other.mkdir()
    (first / "corpus.txt").write_text("abcab cabca bcabc " * 8)
    (other / "corpus.txt").write_text("xyz wxyzw " * 40)  # other letters, another length
    monkeypatch.chdir(first)
    started = bench("run", "--tasks", "text", "--task-opt", "text.path=corpus.txt", "--task-opt", "text.seq_len=8",
                    "--cells", "rnn", "--epochs", "1", "--batch-size", "full", "--device", "cpu", "--out", str(out))
    assert started.exit_code == 0, started.output
    run_dir = only_run_dir(out)
    (kept,) = read_csv_rows(run_dir / "runs.csv")

    monkeypatch.chdir(other)
    widened = bench("run", "--resume", str(run_dir), "--seeds", "0,1")
    assert widened.exit_code == 0, widened.output
    rows = read_csv_rows(run_dir / "runs.csv")
    assert rows[0] == kept and [row["seed"] for row in rows] == ["0", "1"]
    # trained on the first corpus: its vocabulary (the model's size) and its full batch
    assert (rows[1]["params"], rows[1]["batch_size"]) == (kept["params"], kept["batch_size"])

    # the file named again from here is another file
    assert_bad_input(bench("run", "--resume", str(run_dir), "--task-opt", "text.path=corpus.txt",
                           "--task-opt", "text.seq_len=8"), "--task-opt", "differs from the run's own")
    (first / "corpus.txt").write_text("abcab cabca bcabc " * 9)
    changed = assert_bad_input(bench("run", "--resume", str(run_dir), "--seeds", "0,1,2"),
                               f"--task-opt text.path={first / 'corpus.txt'} has changed (sha256 ")
    assert "restore the file or start a new run" in changed
    (first / "corpus.txt").unlink()
    assert_bad_input(bench("run", "--resume", str(run_dir), "--seeds", "0,1,2"),
                     f"--task-opt text.path={first / 'corpus.txt'} no longer exists")
    assert read_csv_rows(run_dir / "runs.csv") == rows  # nothing run, nothing dropped


def git_facts() -> tuple[str | None, bool | None]:
    """The commit of benchsuite's checkout and whether it is dirty, asked of git here (None outside a checkout)."""
    folder = Path(benchsuite.__file__).parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True)
    except OSError:
        return None, None
    if head.returncode != 0:
        return None, None
    status = subprocess.run(["git", "status", "--porcelain"], cwd=folder, capture_output=True, text=True)
    return head.stdout.strip(), bool(status.stdout.strip())


# Issue 29, item 5: a resume after the code changed mixed rows of two versions into one summary without a word.
def test_a_resume_after_the_code_changed_is_refused_unless_asked_and_marks_its_rows(tmp_path, bench, monkeypatch):
    import torch

    from benchsuite.registry import provenance

    monkeypatch.setattr(provenance, "__version__", "0.0.1")  # the run is made by an older benchsuite
    started = bench("run", "--tasks", "apple", "--cells", "rnn", "--epochs", "1", "--device", "cpu", "--out",
                    str(tmp_path))
    assert started.exit_code == 0, started.output
    run_dir = only_run_dir(tmp_path)
    (old,) = json.loads((run_dir / "meta.json").read_text())["code"]
    assert (old["benchsuite"], old["torch"]) == ("0.0.1", torch.__version__)
    assert (old["git_commit"], old["git_dirty"]) == git_facts()
    monkeypatch.undo()

    refused = bench("run", "--resume", str(run_dir), "--seeds", "0,1")
    message = assert_bad_input(refused, "the code changed since the run's last rows were measured",
                               f"benchsuite 0.0.1 -> {benchsuite.__version__}", "--resume-across-versions")
    assert message.count(" -> ") == 1  # only what changed is named
    assert len(read_csv_rows(run_dir / "runs.csv")) == 1

    going = bench("run", "--resume", str(run_dir), "--seeds", "0,1", "--resume-across-versions")
    assert going.exit_code == 0, going.output
    first, new = json.loads((run_dir / "meta.json").read_text())["code"]
    assert first == old and new["benchsuite"] == benchsuite.__version__ and new["fingerprint"] != old["fingerprint"]
    rows = read_csv_rows(run_dir / "runs.csv")
    assert [(row["seed"], row["code_version"]) for row in rows] == [("0", old["fingerprint"]),
                                                                     ("1", new["fingerprint"])]
    # the flag was for that resume: the next one compares with the code of the latest rows, which is today's
    again = bench("run", "--resume", str(run_dir), "--seeds", "0,1,2")
    assert again.exit_code == 0, again.output
    assert [row["code_version"] for row in read_csv_rows(run_dir / "runs.csv")][2] == new["fingerprint"]
    assert_bad_input(bench("run", "--tasks", "apple", "--resume-across-versions"), "--resume-across-versions: only "
                     "with --resume")


def test_a_plugin_file_edited_between_run_and_resume_is_changed_code(tmp_path, bench):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    plugin = plugins / "tiny.py"
    plugin.write_text(TINY_PLUGIN)
    started = bench("run", "--tasks", "apple", "--cells", "tiny", "--epochs", "1", "--device", "cpu",
                    "--plugins-dir", str(plugins), "--out", str(tmp_path / "out"))
    assert started.exit_code == 0, started.output
    run_dir = only_run_dir(tmp_path / "out")
    plugin.write_text(TINY_PLUGIN.replace("nn.RNN", "nn.GRU"))
    assert_bad_input(bench("run", "--resume", str(run_dir), "--plugins-dir", str(plugins), "--seeds", "0,1"),
                     "plugin tiny", "file sha256 ")


TINY_PLUGIN = """
from torch import nn
from benchsuite import CellSpec, hookimpl

@hookimpl
def register_cells(register):
    register(CellSpec("tiny", "torch", lambda config: nn.RNN(config.input_size, config.hidden_size, batch_first=True)))
"""
