"""Checks shared by the task tests."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from benchsuite.cli import main


def check_bad_task_option(option: str, message: str, out: Path) -> None:
    """`bench run` with `--task-opt option` (TASK.KEY=VALUE) exits 2 and says `message`."""
    task = option.split(".")[0]
    result = CliRunner().invoke(main, ["run", "--tasks", task, "--task-opt", option, "--out", str(out)])
    assert result.exit_code == 2 and message in result.output, result.output
