"""Sweep files (`bench run --config FILE.toml`): the same options as the flags, flags on top, the resolved sweep in
meta.json so `--resume` needs nothing else, and every bad file answered with exit 2 and file:line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchsuite.planning.options import RunOptions
from benchsuite.planning.sweepfile import read_sweep_file
from helpers.cli import assert_bad_input, invoke
from helpers.runs import only_run_dir

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sweeps"

SWEEP = """\
# a small grid
tasks = ["apple"]
cells = "rnn"
lr = [0.1, 0.03]
epochs = 2
seeds = [0, 1]
threads = 1
"""


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_a_sweep_file_runs_its_grid_with_flags_on_top_and_resumes_from_meta_alone(tmp_path):
    sweep = write(tmp_path, SWEEP)
    result = invoke("run", "--config", str(sweep), "--seeds", "0", "--out", str(tmp_path / "out"), "--no-report",
                    "--quiet")
    assert result.exit_code == 0, result.output
    run_dir = only_run_dir(tmp_path / "out")
    rows = (run_dir / "runs.csv").read_text().splitlines()[1:]
    assert len(rows) == 2  # two lrs from the file, one seed from the flag
    options = json.loads((run_dir / "meta.json").read_text())["options"]
    assert options["lr"] == [0.1, 0.03] and options["seeds"] == [0] and options["epochs"] == [2]
    # An interrupted run: its last row never finished. The resume needs no file and no flags.
    (run_dir / "runs.csv").write_text("\n".join((run_dir / "runs.csv").read_text().splitlines()[:2]) + "\n")
    sweep.unlink()
    result = invoke("run", "--resume", str(run_dir), "--no-report", "--quiet")
    assert result.exit_code == 0, result.output
    finished = (run_dir / "runs.csv").read_text().splitlines()[1:]
    assert len(finished) == 2 and finished[0] == rows[0]


def test_the_shipped_examples_parse():
    for path in sorted(EXAMPLES.glob("*.toml")):
        options = RunOptions.parse(**read_sweep_file(path))
        assert options.tasks and options.cells


def test_underscored_keys_and_task_option_tables_are_read(tmp_path):
    sweep = write(tmp_path, 'tasks = "delay"\nbatch_size = [16, "full"]\n\n[task-opt.delay]\ngap = 5\nsamples = 40\n')
    given = read_sweep_file(sweep)
    assert given == {"tasks": "delay", "batch_size": [16, "full"],
                     "task_opts": {"delay": {"gap": "5", "samples": "40"}}}


@pytest.mark.parametrize("text, line, message", [
    ('tasks = "apple"\nlr = 0.1 0.2\nseeds = 1\n', 2, "not valid TOML"),
    ('tasks = "apple"\nlr = [0.1,\n', 2, "not valid TOML (Invalid value (at end of document))"),
    ('tasks = "apple"\n\nlearning_rate = 0.1\n', 3, "unknown key 'learning_rate'; known keys: tasks, cells"),
    ('tasks = "apple"\nepochs = "ten"\n', 2, "epochs: expected a whole number, or a list of them, got 'ten'"),
    ('tasks = "apple"\nlr = [0.1, true]\n', 2, "lr: expected a whole number or a number, or a list of them, got True"),
    ('tasks = "apple"\n# none yet\nlr = []\n', 3, "lr: an empty list would make an empty grid"),
    ('tasks = "apple"\nparams = [100, 200]\n', 2, "params: takes one value (a whole number), not a list"),
    ('tasks = "apple"\n[task-opt.apple]\nsize = [1]\n', 3, "task-opt.apple.size: expected text, a number or"),
    ('tasks = "apple"\nisolate = "yes"\n', 2, "isolate: expected true or false, got 'yes'"),
])
def test_bad_sweep_files_exit_2_naming_file_line_and_key(tmp_path, text, line, message):
    sweep = write(tmp_path, text)
    assert_bad_input(invoke("run", "--config", sweep, "--out", tmp_path / "out"), f"{sweep}:{line}: ", message)
    assert not (tmp_path / "out").exists()


def test_a_missing_or_binary_sweep_file_is_bad_input(tmp_path):
    for path in (tmp_path / "absent.toml", write(tmp_path, b"\xff\xfe")):
        assert_bad_input(invoke("run", "--config", path), f"--config {path}: cannot read it")


def test_a_sweep_file_with_a_bad_value_names_the_option(tmp_path):
    assert_bad_input(invoke("run", "--config", write(tmp_path, 'tasks = "apple"\nlr = [0.1, -1]\n')),
                     "--lr: must be a finite number above zero, got -1")


def test_config_and_resume_together_is_bad_input(tmp_path):
    assert_bad_input(invoke("run", "--config", write(tmp_path, SWEEP), "--resume", tmp_path),
                     "--config does not apply with --resume")


def test_clip_and_weight_decay_lists_in_a_sweep_file_are_grid_axes(tmp_path):
    path = write(tmp_path, 'tasks = "apple"\nclip = ["none", 1, 0.5]\nweight-decay = [0, 0.01]\n')
    options = RunOptions.parse(**read_sweep_file(path))
    assert options.clip == (None, 1.0, 0.5) and options.weight_decay == (0.0, 0.01)


def test_one_value_for_a_list_option_is_a_list_of_one(tmp_path):
    options = RunOptions.parse(**read_sweep_file(write(tmp_path, 'tasks = "apple"\nlayers = 2\nseeds = 3\n')))
    assert (options.tasks, options.layers, options.seeds) == (("apple",), (2,), (3,))
