"""`bench run`'s plots drawn by a forked worker: the same pictures as `bench report` draws in its own process, the
run's process drawing them itself when the worker is gone, and no worker outliving its run."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.runs import only_run_dir

pytestmark = [pytest.mark.slow,  # each test starts `bench run` in a process of its own (seconds)
              pytest.mark.skipif(sys.platform != "linux", reason="the worker is forked on Linux only")]

RUN = ["run", "--tasks", "apple", "--cells", "rnn,lstm", "--epochs", "3", "--seeds", "0,1"]
PLOTS = ("loss_curves.png", "accuracy_vs_time.png", "step_time.png")
# Runs `bench` in this process, as the console script does, then says whether this process drew anything (imported
# matplotlib's Figure). With argv[1] "dying-worker" the worker exits as soon as it starts, with "stuck-worker" it
# never says it is ready (and the run waits half a second for it).
BENCH_THEN_REPORT = """
import json, os, sys, time
from benchsuite.cli import main
import benchsuite.report.plot_worker as plot_worker
if sys.argv[1] == "dying-worker":
    plot_worker._serve = lambda *connections: os._exit(3)
if sys.argv[1] == "stuck-worker":
    plot_worker._serve, plot_worker.READY_SECONDS = lambda *connections: time.sleep(600), 0.5
try:
    main(sys.argv[2:])
except SystemExit as stop:
    code = stop.code
print(json.dumps({"exit": code, "drew_here": "matplotlib.figure" in sys.modules}))
"""


def processes_in_group(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def bench_in_process(tmp_path: Path, how: str, *args: str) -> tuple[dict, str]:
    """What BENCH_THEN_REPORT says and prints on stderr; no process it started may outlive it."""
    bench = subprocess.Popen([sys.executable, "-c", BENCH_THEN_REPORT, how, *args], cwd=tmp_path,
                             start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = bench.communicate(timeout=300)
    assert not processes_in_group(bench.pid), "a worker outlived its command"
    return json.loads(stdout.strip().splitlines()[-1]), stderr


def test_the_worker_draws_the_plots_bench_report_draws(tmp_path):
    said, stderr = bench_in_process(tmp_path, "as-is", *RUN, "--out", str(tmp_path / "out"))
    assert said == {"exit": 0, "drew_here": False}, stderr  # the run's own process drew nothing
    run_dir = only_run_dir(tmp_path / "out")
    again = tmp_path / "again" / run_dir.name  # the page is titled by the folder's name
    shutil.copytree(run_dir, again)
    for plot in PLOTS:
        (again / plot).unlink()
    redrawn = subprocess.run([sys.executable, "-m", "benchsuite", "report", str(again)], capture_output=True,
                             text=True, cwd=tmp_path, timeout=300)
    assert redrawn.returncode == 0, redrawn.stderr
    for plot in PLOTS:
        assert (run_dir / plot).read_bytes() == (again / plot).read_bytes(), plot
    assert (run_dir / "report.html").read_text() == (again / "report.html").read_text()


@pytest.mark.parametrize("how", ["dying-worker", "stuck-worker"])
def test_without_its_worker_the_run_draws_the_plots_itself(tmp_path, how):
    said, stderr = bench_in_process(tmp_path, how, *RUN, "--out", str(tmp_path / "out"))
    assert said == {"exit": 0, "drew_here": True}, stderr
    # no warning but the one on noisy step times that a loaded machine may print
    assert not [line for line in stderr.splitlines() if "warning" in line and "noisy step times" not in line]
    run_dir = only_run_dir(tmp_path / "out")
    assert all((run_dir / plot).stat().st_size > 0 for plot in PLOTS)


def test_a_killed_run_leaves_no_worker_behind(tmp_path):
    run = subprocess.Popen([sys.executable, "-m", "benchsuite", "run", "--tasks", "ship", "--cells", "lstm",
                            "--epochs", "100000", "--out", str(tmp_path)], cwd=tmp_path, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not children(run.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = children(run.pid)
        assert len(workers) == 1
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 10
        while processes_in_group(run.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not processes_in_group(run.pid), f"worker {workers[0]} outlived its run"
    finally:
        if processes_in_group(run.pid):
            os.killpg(run.pid, signal.SIGKILL)  # only the group this test started


def test_bad_input_leaves_no_worker(tmp_path):
    bad = subprocess.Popen([sys.executable, "-m", "benchsuite", "run", "--tasks", "no-such-task", "--out",
                            str(tmp_path)], cwd=tmp_path, start_new_session=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    _, stderr = bad.communicate(timeout=60)
    assert bad.returncode == 2 and "no-such-task" in stderr
    assert not processes_in_group(bad.pid), "a worker outlived its command"
