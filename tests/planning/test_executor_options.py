"""Choosing the executor: `--executor` and its alias `--isolate` in the options, in meta.json, and on resume."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchsuite.errors import BenchInputError
from benchsuite.execution import ray_executor
from benchsuite.planning.options import RunOptions, options_from_record, options_record
from benchsuite.planning.resume import resume_options
from helpers.cli import assert_bad_input, invoke
from helpers.runs import only_run_dir


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished")
    result = invoke("run", "--tasks", "apple", "--cells", "rnn", "--epochs", "1", "--device", "cpu", "--no-report",
                    "--out", out)
    assert result.exit_code == 0, result.output
    return only_run_dir(out)


def recorded_as(run_dir: Path, tmp_path: Path, **options: object) -> Path:
    """A copy of the run's folder whose meta.json records `options` in place of the run's executor choice."""
    copy = tmp_path / "run"
    copy.mkdir()
    meta = json.loads((run_dir / "meta.json").read_text())
    stored = {name: value for name, value in meta["options"].items() if name != "executor"}
    (copy / "meta.json").write_text(json.dumps({**meta, "options": {**stored, **options}}))
    return copy


def test_isolate_is_the_isolated_executor():
    assert RunOptions.parse(tasks="apple", isolate=True).executor == "isolated"
    assert RunOptions.parse(tasks="apple", executor="isolated").isolate
    assert RunOptions.parse(tasks="apple").executor == "inline"


def test_ray_settings_survive_meta_json():
    options = RunOptions.parse(tasks="apple", executor="ray", workers=3, ray_address="head:6379", gpus_per_job=0.25)
    record = json.loads(json.dumps(options_record(options)))
    assert {name: record[name] for name in ("executor", "workers", "ray_address", "gpus_per_job")} == {
        "executor": "ray", "workers": 3, "ray_address": "head:6379", "gpus_per_job": 0.25}
    assert options_from_record(record) == options


def test_a_run_recorded_before_the_executor_option_resumes_with_its_isolation(finished_run, tmp_path):
    old = recorded_as(finished_run, tmp_path, isolate=True)  # what meta.json held before `executor` existed
    assert resume_options(old, {}).executor == "isolated"
    assert resume_options(old, {"executor": "ray", "workers": 2}).executor == "ray"


def test_naming_an_executor_on_resume_replaces_the_recorded_one_with_its_settings(finished_run, tmp_path):
    on_ray = recorded_as(finished_run, tmp_path, executor="ray", workers=4, ray_address="head:6379")
    resumed = resume_options(on_ray, {"workers": 2, "ray_address": "head:6379"})
    # the given setting on top of the recorded ones, and the rest as `finished_run` ran
    assert (resumed.executor, resumed.workers, resumed.ray_address) == ("ray", 2, "head:6379")
    assert (resumed.tasks, resumed.cells, resumed.epochs, resumed.device) == (("apple",), ("rnn",), (1,), "cpu")
    inline = resume_options(on_ray, {"executor": "inline"})
    assert (inline.executor, inline.workers, inline.ray_address) == ("inline", None, None)
    assert resume_options(on_ray, {"isolate": True}).executor == "isolated"


# Issue 29, item 2: a planted address in meta.json was connected to, unasked, by `--resume`.
def test_a_resume_reaches_no_cluster_named_only_by_meta_json(finished_run, tmp_path, monkeypatch):
    planted = recorded_as(finished_run, tmp_path, executor="ray", ray_address="10.9.8.7:6379")
    reached = []

    def connect(executor: ray_executor.RayExecutor, ray: object) -> None:
        reached.append(executor.address)
        raise BenchInputError("connected")  # the test ends here: no real cluster

    monkeypatch.setattr(ray_executor.RayExecutor, "_connect", connect)
    refused = invoke("run", "--resume", planted)
    assert_bad_input(refused, "used the Ray cluster at 10.9.8.7:6379", "pass --ray-address 10.9.8.7:6379 again")
    assert reached == []
    assert sorted(path.name for path in planted.iterdir()) == ["meta.json"]  # nothing was written either
    # named again, the cluster is the user's choice; another executor reaches none
    assert resume_options(planted, {"ray_address": "10.9.8.7:6379"}).ray_address == "10.9.8.7:6379"
    assert resume_options(planted, {"executor": "inline"}).ray_address is None
