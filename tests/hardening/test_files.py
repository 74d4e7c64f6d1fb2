"""Hardening (issue 17): the run folder. File-system errors are one message (exit 2); a folder has one writer;
every command reads a cut-off row the way --resume does; a resume never drops rows it was not asked to redo; writes
never follow links out of the folder and a resume runs no code named only by meta.json. (D2, D4, D8, D12, D16)"""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import benchsuite
from benchsuite.errors import BenchInputError
from benchsuite.results.files import open_append, read_csv_rows
from benchsuite.results.lock import RunLock
from benchsuite.results.schema import row_key
from helpers.cli import assert_bad_input
from helpers.faulty_cells import write_plugin as write_faulty
from helpers.hardening_plugins import WRITES_A_MARK, write_plugin
from helpers.runs import only_run_dir

APPLE = ["run", "--tasks", "apple", "--device", "cpu", "--epochs", "2"]


def finished_run(out: Path, seeds: str = "0,1", **options) -> Path:
    benchsuite.run(tasks="apple", cells="rnn", seeds=seeds, epochs=2, device="cpu", out=str(out), **options)
    return only_run_dir(out)


# D2: --out naming a file, /proc/version, a report that cannot be written: tracebacks with exit 1.
@pytest.mark.parametrize("out", ["a_file", "/proc/version"])
def test_out_where_no_folder_can_be_made_is_one_message(bench, tmp_path, out):
    target = tmp_path / out if out == "a_file" else Path(out)
    if out == "a_file":
        target.write_text("not a folder")
    assert_bad_input(bench(*APPLE, "--out", str(target)), f"--out {target}: cannot make a run folder there")


def test_a_report_that_cannot_be_written_names_the_path_and_cause(bench, tmp_path):
    run_dir = finished_run(tmp_path)
    (run_dir / "summary.md").mkdir()  # what the report must replace cannot be replaced
    assert_bad_input(bench("report", str(run_dir)), "summary.md", "Is a directory")


@pytest.fixture
def file_size_limit():
    """Set a limit on the size of any file this process writes (as a full disk would stop it), lifted after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead

    def limit(size: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))

    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_a_disk_that_fills_mid_run_keeps_whole_rows_and_says_how_to_resume(bench, tmp_path, file_size_limit):
    full = finished_run(tmp_path / "full", seeds="0,1,2,3")
    biggest = max(path.stat().st_size for path in full.glob("*.csv"))
    file_size_limit(biggest // 2)  # the largest file stops growing half way through the run
    out = tmp_path / "out"
    stopped = bench(*APPLE, "--cells", "rnn", "--seeds", "0,1,2,3", "--out", str(out), "--no-report", "--quiet")
    file_size_limit(resource.RLIM_INFINITY)
    run_dir = only_run_dir(out)
    line = assert_bad_input(stopped, "cannot write the run: ", ".csv: File too large",
                           f"finish the run with: bench run --resume {run_dir}")
    kept = read_csv_rows(run_dir / "runs.csv")
    assert f"The {len(kept)} rows finished before are kept" in line
    assert len(kept) < 4 and all(row["status"] == "ok" for row in kept)
    finished = bench("run", "--resume", str(run_dir))
    assert finished.exit_code == 0, finished.output
    assert sorted(int(row["seed"]) for row in read_csv_rows(run_dir / "runs.csv")) == [0, 1, 2, 3]


# D4: two --resume of one folder both ran: 7 rows for a 6-row grid.
def test_a_second_writer_is_refused_naming_the_holder(bench, tmp_path):
    run_dir = finished_run(tmp_path)
    (run_dir / "runs.csv").write_text(read_header(run_dir))  # nothing kept: the resume would rerun both rows
    with RunLock(run_dir):
        line = assert_bad_input(bench("run", "--resume", str(run_dir)), f"{run_dir} is in use: process {os.getpid()}")
    assert "A run folder has one writer at a time" in line
    assert read_csv_rows(run_dir / "runs.csv") == []  # the refused resume changed nothing


def read_header(run_dir: Path) -> str:
    return (run_dir / "runs.csv").read_text().splitlines(keepends=True)[0]


def test_of_two_racing_resumes_exactly_one_proceeds(tmp_path):
    plugins = write_faulty(tmp_path / "plugins")
    seeds = ",".join(str(seed) for seed in range(6))
    benchsuite.run(tasks="apple", cells="slow", seeds=seeds, epochs=2, device="cpu", out=str(tmp_path / "out"),
                   plugins_dir=str(plugins))
    run_dir = only_run_dir(tmp_path / "out")
    (run_dir / "runs.csv").write_text(read_header(run_dir))  # as if killed before any row: all six run again
    start, outcomes = threading.Barrier(2), []

    def resume() -> None:
        start.wait()
        try:
            outcomes.append(len(benchsuite.run(resume=run_dir, plugins_dir=str(plugins))))
        except BenchInputError as exc:
            outcomes.append(str(exc))

    racers = [threading.Thread(target=resume) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert len(outcomes) == 2 and outcomes.count(6) == 1  # one finished the six rows...
    (refusal,) = [outcome for outcome in outcomes if isinstance(outcome, str)]  # ...the other was refused
    assert f"{run_dir} is in use" in refusal
    keys = [row_key(row) for row in read_csv_rows(run_dir / "runs.csv")]
    assert len(keys) == len(set(keys)) == 6  # each seed once
    curve_keys = {row_key(point) for point in read_csv_rows(run_dir / "curves.csv")}
    assert curve_keys == set(keys)
    assert len(json.loads((run_dir / "meta.json").read_text())["resumes"]) == 1


# D8: report and compare counted a cut-off last row as an ok seed (its cut `0.` read as 0.0).
def test_report_and_compare_leave_out_a_cut_off_row_as_resume_does(bench, tmp_path):
    run_dir = finished_run(tmp_path)
    for name in ("runs.csv", "curves.csv"):
        path = run_dir / name
        text = path.read_text()
        path.write_text(text[:text.rstrip("\n").rfind("\n") + 1] + text.rstrip("\n").splitlines()[-1][:40])
    report = bench("report", str(run_dir))
    assert report.exit_code == 0, report.output
    assert "runs.csv: its last line is cut off" in report.stderr
    assert "| ok:1 |" in (run_dir / "summary.md").read_text()
    compared = bench("compare", str(run_dir), str(run_dir), "--format", "json")
    assert json.loads(compared.stdout)["a"]["rows"] == 1
    assert len(read_csv_rows(run_dir / "runs.csv")) == 1  # resume's reader: the same one row


# D12: --resume DIR --cells rnn deleted the error rows of the cells left out; a run that exited 1 exited 0.
def test_a_narrowed_resume_keeps_the_rows_it_was_not_asked_to_redo(bench, tmp_path):
    plugins = write_faulty(tmp_path / "plugins")
    first = bench(*APPLE, "--epochs", "5", "--cells", "raises_on_4th_forward,rnn", "--seeds", "0",
                  "--plugins-dir", str(plugins), "--out", str(tmp_path / "out"))
    assert first.exit_code == 1, first.output
    run_dir = only_run_dir(tmp_path / "out")
    before = read_csv_rows(run_dir / "runs.csv")
    again = bench("run", "--resume", str(run_dir), "--cells", "rnn", "--seeds", "0,1", "--plugins-dir", str(plugins))
    assert again.exit_code == 1, again.output  # the error row is still there, still a failure
    after = read_csv_rows(run_dir / "runs.csv")
    assert [row for row in after if row["cell"] == "raises_on_4th_forward"] == [
        row for row in before if row["cell"] == "raises_on_4th_forward"]
    assert sorted((row["cell"], row["seed"]) for row in after) == [
        ("raises_on_4th_forward", "0"), ("rnn", "0"), ("rnn", "1")]


# D16: an errors.log linked elsewhere got a traceback appended; meta.json could name a plugins folder to load.
def test_a_run_file_that_is_a_link_is_refused_and_its_target_untouched(bench, tmp_path):
    run_dir = finished_run(tmp_path / "out")
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me\n")
    (run_dir / "errors.log").symlink_to(elsewhere)
    (run_dir / "runs.csv").write_text(read_header(run_dir))
    assert_bad_input(bench("run", "--resume", str(run_dir)), f"{run_dir / 'errors.log'} is a symbolic link")
    assert elsewhere.read_text() == "keep me\n"
    with pytest.raises(OSError):  # the writers' own guard, should a link appear after the check
        open_append(run_dir / "errors.log")


def test_resume_loads_no_plugins_named_only_by_meta_json(bench, tmp_path, monkeypatch):
    run_dir = finished_run(tmp_path / "out")
    mark = tmp_path / "imported"
    monkeypatch.setenv("HARDENING_MARK", str(mark))
    planted = write_plugin(tmp_path / "planted", "planted", WRITES_A_MARK)
    meta = json.loads((run_dir / "meta.json").read_text())
    meta["options"]["plugins_dir"] = str(planted)
    (run_dir / "meta.json").write_text(json.dumps(meta))
    line = assert_bad_input(bench("run", "--resume", str(run_dir)),
                            f"the run loaded plugin files from {str(planted)!r}",
                            f"pass --plugins-dir {planted} again if you trust that folder")
    assert line and not mark.exists()
    trusted = bench("run", "--resume", str(run_dir), "--plugins-dir", str(planted))
    assert trusted.exit_code == 0, trusted.output
    assert mark.exists()


@pytest.mark.slow  # two interpreters import torch
def test_of_two_resume_processes_started_together_exactly_one_proceeds(tmp_path):
    plugins = write_faulty(tmp_path / "plugins")
    run_dir = finished_run(tmp_path / "out", seeds="0,1,2,3,4,5")  # six rnn rows; the resumes add six slow ones
    command = [sys.executable, "-m", "benchsuite", "run", "--resume", str(run_dir), "--cells", "slow",
               "--plugins-dir", str(plugins), "--quiet", "--no-report"]
    racers = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"}) for _ in range(2)]
    ended = [(racer.wait(timeout=300), racer.stderr.read()) for racer in racers]
    assert sorted(code for code, _ in ended) == [0, 2], ended
    (refusal,) = [said for code, said in ended if code == 2]
    assert f"{run_dir} is in use: process" in refusal
    keys = [row_key(row) for row in read_csv_rows(run_dir / "runs.csv")]
    assert len(keys) == len(set(keys)) == 12  # each row once
