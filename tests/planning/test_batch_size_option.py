"""`--batch-size`: parsed, resolved (command line, then task default, then full batch) and recorded per row."""
import pytest

from benchsuite import get_cell, get_task
from benchsuite.planning.grid import plan_task
from benchsuite.planning.options import RunOptions
from helpers.cli import assert_bad_input
from helpers.runs import only_run_dir


def planned_batch_size(task: str, **options) -> int | None:
    spec = get_task(task)
    jobs = plan_task(RunOptions.parse(tasks=task, **options), task, spec.causal, spec.defaults, [get_cell("rnn")],
                     "cpu")
    return jobs[0].settings["batch_size"]


def test_task_default_then_command_line_then_full():
    assert planned_batch_size("delay") == get_task("delay").defaults["batch_size"]
    assert planned_batch_size("delay", batch_size="8") == 8
    assert planned_batch_size("delay", batch_size="full") is None
    assert planned_batch_size("ship") is None  # the notebook's tasks stay full batch
    assert planned_batch_size("ship", batch_size=16) == 16


@pytest.mark.parametrize("value, message", [("0", "must be above zero"), ("-3", "must be above zero"),
                                            ("many", "'many' is not a whole number"), ("2.5", "not a whole number")])
def test_bad_batch_size_is_exit_2(bench, value, message):
    assert_bad_input(bench("run", "--tasks", "apple", "--batch-size", value), message,
                     "or give 'full' for one batch per epoch")


def test_rows_record_the_rows_each_step_trains_on(bench, tmp_path):
    import pandas

    for value in ("full", "40", "500"):
        result = bench("run", "--tasks", "ship", "--cells", "rnn", "--epochs", "1", "--threads", "1", "--device", "cpu",
                       "--batch-size", value, "--no-report", "--out", str(tmp_path / value))
        assert result.exit_code == 0, result.output
    recorded = {value: pandas.read_csv(only_run_dir(tmp_path / value) / "runs.csv")["batch_size"][0]
                for value in ("full", "40", "500")}
    assert recorded == {"full": 170, "40": 40, "500": 170}  # ship has 170 windows
