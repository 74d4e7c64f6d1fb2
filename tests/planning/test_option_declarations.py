"""Every `bench run` option is reachable both as a flag and as a sweep-file key, and a sweep file can set the options
that steer execution (executor, workers, cell options, saved models) with flags still on top."""
from __future__ import annotations

import json
import pickle
from dataclasses import fields
from pathlib import Path

import click
import pytest
from torch import nn

from benchsuite import get_cell, get_task
from benchsuite.cli.run import run_command
from benchsuite.errors import BenchInputError
from benchsuite.planning.grid import Job, plan_task
from benchsuite.planning.options import RunOptions
from benchsuite.planning.sweepfile import read_sweep_file
from benchsuite.results.files import read_csv_rows
from benchsuite.results.schema import SETTING_COLUMNS
from helpers import wrapped_cells
from helpers.runs import only_run_dir

# `bench run`'s own switches, which steer the command rather than the run: a sweep file cannot hold them.
COMMAND_SWITCHES = {"resume", "config", "no_report", "quiet", "help"}
# One TOML value of each shape an option may take; a key is accepted when one of them passes the file's checks.
CANDIDATE_VALUES = ["1", "0.5", "true", "[1]", '["a"]', '"text"', None]


def run_flags() -> dict[str, click.Option]:
    """`bench run`'s options by keyword, as click parses the command line."""
    return {param.name: param for param in run_command.params
            if isinstance(param, click.Option) and param.name not in COMMAND_SWITCHES}


def keyword_read_from_file(tmp_path: Path, key: str) -> str | None:
    """The keyword a sweep file's `key` gives `RunOptions.parse`, or None when the file does not know the key."""
    for value in CANDIDATE_VALUES:
        path = tmp_path / "sweep.toml"
        path.write_text(f"[{key}.x]\nk = 1\n" if value is None else f"{key} = {value}\n")
        try:
            (keyword,) = read_sweep_file(path)
            return keyword
        except BenchInputError as exc:
            if "unknown key" in str(exc):
                return None
    raise AssertionError(f"no value of the sweep file's key {key!r} is accepted")


def test_every_run_flag_is_a_sweep_file_key_giving_the_same_option(tmp_path):
    flags = run_flags()
    assert len(flags) >= 27  # every flag of the public contract, at least
    read = {name: keyword_read_from_file(tmp_path, param.opts[0].removeprefix("--")) for name, param in flags.items()}
    assert {name: keyword for name, keyword in read.items() if keyword != name} == {}  # None: not a key at all


def test_every_option_field_has_a_flag_and_every_flag_reaches_the_options():
    flags = run_flags()
    assert {run_field.name for run_field in fields(RunOptions)} <= set(flags)
    # The only flag without a field of its own is --isolate, which is --executor isolated.
    assert set(flags) - {run_field.name for run_field in fields(RunOptions)} == {"isolate"}
    assert RunOptions.parse(tasks="apple", isolate=True).executor == "isolated"


def test_every_setting_column_is_swept_by_a_flag():
    """For each setting column, some flag given two values plans two jobs differing in that column alone."""
    swept = {}
    # Two values of each flag: numbers, or two of its names for a flag that takes names (a preset needs block).
    two_names = {"backbone": ("stack,block", {}), "preset": ("zoology,mad", {"backbone": "block"}),
                 "schedule": ("constant,cosine", {})}
    for name in run_flags():
        values, others = two_names.get(name, ("1,2", {}))
        try:
            jobs = _plan(RunOptions.parse(tasks="apple", **{name: values}, **others))
        except (BenchInputError, TypeError, ValueError):
            continue
        differing = [column for column in SETTING_COLUMNS if len({job.settings[column] for job in jobs}) == 2]
        if len(jobs) == 2 and len(differing) == 1:
            swept[differing[0]] = name
    assert set(swept) == set(SETTING_COLUMNS), swept


def _plan(options: RunOptions) -> list[Job]:
    spec = get_task("apple")
    return plan_task(options, "apple", spec.causal, spec.defaults, [get_cell("rnn")], "cpu")


def test_a_job_is_built_by_keyword_and_pickles_with_its_settings():
    settings = {"lr": 0.1, "batch_size": 4, "max_epochs": 3, "clip": None, "weight_decay": 0.0,
                "steps": None}
    job = Job(task="apple", cell="rnn", backend="torch", num_layers=1, bidirectional=False, hidden_size=5, seed=0,
              settings=settings)
    copy = pickle.loads(pickle.dumps(job))
    # Settings added later (the backbone, its preset, the lr schedule) take their neutral values when left out.
    settings = {**settings, "backbone": "stack", "preset": None, "schedule": "constant", "warmup_steps": 0}
    assert copy == job and hash(copy) == hash(job) and dict(copy.settings) == settings
    assert copy.key_fields() == {"task": "apple", "cell": "rnn", "backend": "torch", "num_layers": 1,
                                 "bidirectional": False, "hidden_size": 5, **settings, "seed": 0}
    with pytest.raises(TypeError):
        Job("apple", "rnn", "torch", 1, False, 5, 0, settings)  # positional fields could be swapped unnoticed
    with pytest.raises(ValueError, match="settings must name exactly"):
        Job(task="apple", cell="rnn", backend="torch", num_layers=1, bidirectional=False, hidden_size=5, seed=0,
            settings={"lr": 0.1})


SMALL_RUN = 'tasks = "apple"\ncells = "{cell}"\nepochs = 2\nhidden = 8\ndevice = "cpu"\nthreads = 1\n'


def run_sweep(bench, tmp_path: Path, text: str, *flags: str) -> list[dict[str, str]]:
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(text)
    out = tmp_path / "out"
    result = bench("run", "--config", str(sweep), "--out", str(out), "--no-report", "--quiet", *flags)
    assert result.exit_code == 0, result.output
    return read_csv_rows(only_run_dir(out) / "runs.csv")


def heads_params(heads: int) -> int:
    """The parameters of the wrapped `heads` cell at hidden size 8 on apple, with its head: one small RNN a head."""
    vocab = len(get_task("apple").build().vocab)
    per_head = 8 // heads
    rnns = [nn.RNN(vocab, per_head) for _ in range(heads)]
    return sum(p.numel() for module in [*rnns, nn.Linear(8, vocab)] for p in module.parameters())


def test_a_sweep_file_sets_cell_options_and_saves_models(tmp_path, bench):
    plugins = wrapped_cells.plugin_folder(tmp_path / "plugins")
    text = SMALL_RUN.format(cell="heads") + f'plugins-dir = "{plugins}"\nsave-models = true\n' \
                                           '[cell-opt.heads]\nheads = 2\n'
    (row,) = run_sweep(bench, tmp_path, text)
    assert (row["status"], row["cell_options"], int(row["params"])) == ("ok", "heads=2", heads_params(2))
    assert list((only_run_dir(tmp_path / "out") / "models").iterdir())


def test_cell_options_on_the_command_line_go_on_top_of_the_file_key_by_key(tmp_path, bench):
    plugins = wrapped_cells.plugin_folder(tmp_path / "plugins")
    text = SMALL_RUN.format(cell="heads") + f'plugins-dir = "{plugins}"\n[cell-opt.heads]\nheads = 2\n'
    (row,) = run_sweep(bench, tmp_path, text, "--cell-opt", "heads.heads=1")
    assert (row["cell_options"], int(row["params"])) == ("heads=1", heads_params(1))
    assert not (only_run_dir(tmp_path / "out") / "models").exists()


@pytest.mark.slow  # starts a local Ray instance
def test_a_sweep_file_runs_on_ray_with_two_workers(tmp_path, bench):
    pytest.importorskip("ray")
    rows = run_sweep(bench, tmp_path, SMALL_RUN.format(cell="rnn") + 'seeds = [0, 1]\nexecutor = "ray"\n'
                                                                      'workers = 2\n')
    assert sorted((row["seed"], row["status"]) for row in rows) == [("0", "ok"), ("1", "ok")]
    options = json.loads((only_run_dir(tmp_path / "out") / "meta.json").read_text())["options"]
    assert (options["executor"], options["workers"]) == ("ray", 2)
