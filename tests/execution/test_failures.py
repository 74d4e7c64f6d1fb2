"""A failing cell costs its own row, never the run: error, diverged and timeout rows, --isolate, --fail-fast."""
from __future__ import annotations

import math
import time

import pytest

import benchsuite
from benchsuite.execution import isolated as isolation
from benchsuite.results.files import read_csv_rows
from helpers.faulty_cells import SLEEP_SECONDS, write_plugin
from helpers.runs import only_run_dir

EPOCHS = "5"  # enough for a fourth forward; small enough to keep each row quick
APPLE = ["run", "--tasks", "apple", "--device", "cpu", "--epochs", EPOCHS]


def rows_by_cell(out) -> dict[str, dict[str, str]]:
    return {row["cell"]: row for row in read_csv_rows(only_run_dir(out) / "runs.csv")}


def test_each_failure_becomes_its_row_and_the_run_goes_on(tmp_path, bench):
    plugins = write_plugin(tmp_path / "plugins")
    result = bench(*APPLE, "--cells", "raises_on_4th_forward,returns_nan,sleeps,rnn", "--plugins-dir", str(plugins),
                   "--timeout", str(1.5 * SLEEP_SECONDS), "--out", str(tmp_path / "out"))

    assert result.exit_code == 1, result.output
    rows = rows_by_cell(tmp_path / "out")
    assert {cell: row["status"] for cell, row in rows.items()} == {
        "raises_on_4th_forward": "error", "returns_nan": "diverged", "sleeps": "timeout", "rnn": "ok"}
    assert rows["raises_on_4th_forward"]["error"] == "RuntimeError: raised on purpose on the fourth forward"
    assert rows["returns_nan"]["error"] == "loss became nan at epoch 1"
    # Each sleeping step outlasts half the limit: the check after the second step (at the latest) stops the run.
    assert int(rows["sleeps"]["epochs"]) <= 2 and rows["sleeps"]["error"].startswith("stopped after 1.5 s")
    assert float(rows["rnn"]["final_loss"]) < math.log(5)  # below guessing among apple's 5 symbols: it trained
    text = (only_run_dir(tmp_path / "out") / "errors.log").read_text()
    assert "--- apple raises_on_4th_forward layers=1" in text and "Traceback" in text
    assert "raise RuntimeError(\"raised on purpose on the fourth forward\")" in text
    assert "Traceback" not in result.output


@pytest.mark.slow  # each child process imports torch afresh: seconds apiece on a busy machine
def test_base_exceptions_and_unprintable_errors_cost_only_their_own_row(tmp_path, bench):
    plugins = write_plugin(tmp_path / "plugins")
    cells = "raises_generator_exit,raises_base_exception,raises_unprintable,rnn"
    result = bench(*APPLE, "--cells", cells, "--plugins-dir", str(plugins), "--out", str(tmp_path / "out"))

    assert result.exit_code == 1, result.output
    errors = {cell: (row["status"], row["error"]) for cell, row in rows_by_cell(tmp_path / "out").items()}
    assert errors == {
        "raises_generator_exit": ("error", "GeneratorExit: raised on purpose"),
        "raises_base_exception": ("error", "NotAnException: raised on purpose"),
        "raises_unprintable": ("error", "Unprintable: (its message could not be shown: ValueError in __str__)"),
        "rnn": ("ok", "")}
    assert "Traceback" not in result.output


def test_isolated_crashes_and_kills_become_error_rows(tmp_path, monkeypatch, bench):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # children start faster on a shared machine; results do not change
    plugins = write_plugin(tmp_path / "plugins")
    result = bench(*APPLE, "--cells", "rnn,exits_3,kills_itself", "--plugins-dir", str(plugins), "--isolate",
                   "--out", str(tmp_path / "isolated"))

    assert result.exit_code == 1, result.output
    rows = rows_by_cell(tmp_path / "isolated")
    assert rows["exits_3"]["status"] == "error" and rows["exits_3"]["error"].endswith("exit code 3")
    assert rows["kills_itself"]["status"] == "error"
    assert rows["kills_itself"]["error"].endswith("exit code -9 (SIGKILL)")
    # The row a child hands back is the one the same job gives in this process.
    assert rows["rnn"]["status"] == "ok"
    here = benchsuite.run(tasks="apple", cells="rnn", epochs=int(EPOCHS), device="cpu", out=tmp_path / "here")
    assert float(rows["rnn"]["final_loss"]) == pytest.approx(here["final_loss"][0], rel=1e-6)
    assert int(rows["rnn"]["params"]) == here["params"][0]
    log = (only_run_dir(tmp_path / "isolated") / "errors.log").read_text()
    assert "--- apple exits_3 layers=1" in log and "exit code 3" in log


@pytest.mark.slow
def test_isolated_step_that_never_returns_is_killed_as_timeout(tmp_path, monkeypatch, bench):
    monkeypatch.setattr(isolation, "GRACE_SECONDS", 1.0)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    plugins = write_plugin(tmp_path / "plugins")
    started = time.monotonic()
    result = bench(*APPLE, "--cells", "hangs", "--plugins-dir", str(plugins), "--isolate", "--timeout", "0.5",
                   "--out", str(tmp_path / "out"))

    assert result.exit_code == 1, result.output
    row = rows_by_cell(tmp_path / "out")["hangs"]
    assert row["status"] == "timeout"
    assert row["error"] == ("killed 1.5 s after training started: a step did not return within --timeout 0.5 "
                            "plus 1 s grace")
    assert time.monotonic() - started < 50  # the step sleeps 60 s: it was cut short


def test_fail_fast_stops_at_the_first_failure_and_resume_finishes(tmp_path, bench):
    plugins = write_plugin(tmp_path / "plugins")
    out = tmp_path / "out"
    first = bench(*APPLE, "--cells", "returns_nan,rnn", "--plugins-dir", str(plugins), "--fail-fast", "--out", str(out))

    assert first.exit_code == 1
    run_dir = only_run_dir(out)
    assert [row["cell"] for row in read_csv_rows(run_dir / "runs.csv")] == ["returns_nan"]
    assert (f"1 rows not run; finish with: bench run --resume {run_dir} --plugins-dir {plugins} --no-fail-fast"
            in first.output)

    rest = bench("run", "--resume", str(run_dir), "--plugins-dir", str(plugins), "--no-fail-fast")
    assert rest.exit_code == 1  # the diverging row is run again and diverges again
    rows = read_csv_rows(run_dir / "runs.csv")
    assert sorted((row["cell"], row["status"]) for row in rows) == [("returns_nan", "diverged"), ("rnn", "ok")]


def test_exit_code_is_zero_when_every_row_is_ok_or_skipped(tmp_path, bench):
    result = bench(*APPLE, "--cells", "rnn", "--directions", "uni,bi", "--epochs", "1", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    statuses = sorted(row["status"] for row in read_csv_rows(only_run_dir(tmp_path) / "runs.csv"))
    assert statuses == ["ok", "skipped"]


class Planted:
    """A stand-in for the `ray` module whose `get` hands back an object of its choice, as a forged head can."""

    class exceptions:  # stands for the `ray.exceptions` module
        RayError = RuntimeError

    def __init__(self, returned: object) -> None:
        self.returned = returned

    def get(self, ref: object) -> object:
        return self.returned


# Issue 29, item 2: the driver took whatever a cluster returned as the job's outcome, and crashed on a non-outcome.
def test_what_a_ray_task_returns_is_recorded_only_as_that_jobs_outcome():
    from benchsuite.execution.job import JobOutcome, JobRequest
    from benchsuite.execution.ray_executor import _collect
    from benchsuite.planning.grid import Job

    def job_of_seed(seed: int) -> Job:
        return Job(task="apple", cell="rnn", backend="torch", num_layers=1, bidirectional=False, hidden_size=4,
                   seed=seed, settings={"lr": 0.01, "batch_size": None, "max_epochs": 1, "clip": None,
                                        "weight_decay": 0.0, "steps": None})

    job = job_of_seed(0)
    request = JobRequest(job, "cpu")
    other_job = JobOutcome(job_of_seed(7), {"status": "ok"})
    for returned in ("marker", {"status": "ok"}, other_job, JobOutcome(job, "not a row")):
        row = _collect(Planted(returned), None, request, None).row
        assert (row["status"], row["seed"], row["cell"]) == ("error", 0, "rnn"), returned
        assert row["error"].startswith(f"the Ray task of this job returned a {type(returned).__name__} that is not")
    genuine = JobOutcome(job, {"status": "ok", "accuracy": 0.5})
    assert _collect(Planted(genuine), None, request, None) is genuine


TASKS_THAT_FAIL_TO_BUILD = '''
from benchsuite import TaskSpec, hookimpl


class Unprintable(Exception):
    def __str__(self):
        raise ValueError("no message")


def exits_generator(**options):
    raise GeneratorExit("raised on purpose")


def unprintable(**options):
    raise Unprintable


@hookimpl
def register_tasks(register):
    register(TaskSpec("builds_generator_exit", exits_generator))
    register(TaskSpec("builds_unprintable", unprintable))
'''


def test_a_task_build_raising_a_base_exception_costs_only_its_rows(tmp_path, bench):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "failing_tasks.py").write_text(TASKS_THAT_FAIL_TO_BUILD)
    result = bench("run", "--tasks", "builds_generator_exit,builds_unprintable,apple", "--cells", "rnn",
                   "--device", "cpu", "--epochs", "1", "--plugins-dir", str(plugins), "--out", str(tmp_path / "out"))

    assert result.exit_code == 1, result.output
    rows = {row["task"]: (row["status"], row["error"])
            for row in read_csv_rows(only_run_dir(tmp_path / "out") / "runs.csv")}
    assert rows == {
        "builds_generator_exit": ("error", "task build failed: GeneratorExit: raised on purpose"),
        "builds_unprintable": ("error", "task build failed: Unprintable: (its message could not be shown: "
                                        "ValueError in __str__)"),
        "apple": ("ok", "")}
