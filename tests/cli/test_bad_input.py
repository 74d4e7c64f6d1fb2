"""Every kind of bad input ends `bench run` with exit code 2 and one message naming the problem, never a traceback."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Callable

import pytest

from helpers.cli import assert_bad_input, invoke
from helpers.runs import only_run_dir

RUN = ["run", "--tasks", "apple", "--cells", "rnn", "--epochs", "1", "--device", "cpu"]
# The built-in plugins' names, written out rather than read from the registry under test (the session loads no
# outside plugin; see conftest). A new built-in cell or task belongs here too.
BUILTIN_TASKS = ("apple, cloze, copy, cycle_navigation, delay, duplicate_string, dyck, even-pairs, even_pairs, "
                 "induction, modular, modular_arithmetic, mqar, parity, parity_check, recall, reverse, "
                 "reverse_string, selective_copy, ship, stack_manipulation, text")
BUILTIN_CELLS = "gru, lru, lstm, mingru, minlstm, numpy-rnn, rnn, transformer"


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "--epochs: must be above zero, got 0"),
    (["--batch-size", "0"], "--batch-size: must be above zero, got 0; or give 'full' for one batch per epoch"),
    (["--hidden", "-3"], "--hidden: must be above zero, got -3"),
    (["--layers", "0"], "--layers: 0 is below the smallest allowed value, 1"),
    (["--layers", "1,0"], "--layers: 0 is below the smallest allowed value, 1"),
    (["--lr", "0"], "--lr: must be a finite number above zero, got '0'"),
    (["--lr", "nan"], "--lr: must be a finite number above zero, got 'nan'"),
    (["--timeout", "-1"], "--timeout: must be a finite number above zero, got -1.0"),
    (["--epochs", "ten"], "--epochs: 'ten' is not a whole number"),
    (["--layers", "1,,2"], "--layers: expected a comma-separated list like a,b, got '1,,2'"),
    (["--seeds", "0,x"], "--seeds: 'x' is not a whole number"),
    (["--seeds", "-1"], "--seeds: -1 is below the smallest allowed value, 0"),
    (["--cells", "rnn,"], "--cells: expected a comma-separated list like a,b, got 'rnn,'"),
    (["--tasks", ""], "--tasks: expected a comma-separated list like a,b, got ''"),
    (["--directions", "up"], "--directions: unknown direction 'up'; expected uni, bi or uni,bi"),
    (["--device", "tpu"], "Invalid value for '--device': 'tpu' is not one of 'cpu', 'cuda', 'auto'"),
    (["--task-opt", "gap50"], "--task-opt 'gap50': expected TASK.KEY=VALUE, e.g. delay.gap=50"),
    (["--task-opt", "apple=3"], "--task-opt 'apple=3': expected TASK.KEY=VALUE"),
    (["--task-opt", "apple.size=3"], "--task-opt apple.size: task 'apple' has no option 'size'; its options: none"),
    (["--tasks", "ship", "--task-opt", "ship.seq_len=ten"],
     "--task-opt ship.seq_len=ten: expected a whole number, like 10"),
    (["--task-opt", "ship.seq_len=5"], "--task-opt ship.*: task 'ship' is not in --tasks (apple)"),
    (["--plugins-dir", "no/such/folder"], "--plugins-dir 'no/such/folder' is not a folder"),
    (["--clip", "0"], "--clip: must be a finite number above zero, got '0'; or give 'none' for no clipping"),
    (["--clip", "1,off"], "--clip: 'off' is not a number; or give 'none' for no clipping"),
    (["--weight-decay", "0,-1"], "--weight-decay: must be a finite number at or above zero, got '-1'"),
    (["--cell-opt", "rnn.size=3"], "--cell-opt rnn.size: cell 'rnn' has no option 'size'; its options: none"),
    (["--cell-opt", "gru.size=3"], "--cell-opt gru.*: cell 'gru' is not among this run's cells (rnn)"),
    (["--executor", "nope"], "Invalid value for '--executor': 'nope' is not one of 'inline', 'isolated', 'ray'"),
    (["--workers", "2"], "--workers: only for --executor ray (this run uses inline)"),
    (["--isolate", "--ray-address", "h:1"], "--ray-address: only for --executor ray (this run uses isolated)"),
    (["--isolate", "--executor", "ray"], "--isolate is --executor isolated; it cannot be combined with --executor ray"),
    (["--executor", "ray", "--workers", "0"], "--workers: must be above zero, got 0"),
    (["--executor", "ray", "--gpus-per-job", "0"], "--gpus-per-job: must be a finite number above zero, got 0.0"),
])
def test_bad_option_values(args, message):
    assert_bad_input(invoke(*RUN, *args), message)


def test_unknown_names_list_every_known_one_and_the_closest():
    assert_bad_input(invoke("run", "--tasks", "appel"),
                     f"unknown task 'appel'; known tasks: {BUILTIN_TASKS} (did you mean 'apple'?)")
    assert_bad_input(invoke("run", "--tasks", "apple", "--cells", "grux"),
                     f"unknown cell 'grux'; known cells: {BUILTIN_CELLS} (did you mean 'gru'?)")


def test_run_without_tasks():
    assert_bad_input(invoke("run", "--cells", "rnn"),
                     "--tasks: name the tasks to run (see `bench list`), or resume a run with")


def test_cuda_asked_for_but_absent(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert_bad_input(invoke(*RUN[:-2], "--device", "cuda"), "--device cuda: CUDA is not available here")


def test_ray_asked_for_but_not_installed(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where Ray is not installed
    assert_bad_input(invoke(*RUN, "--executor", "ray", "--out", tmp_path / "out"),
                     "--executor ray needs Ray, which is not installed here: pip install 'benchsuite[ray]'")
    assert not (tmp_path / "out").exists()  # refused before any run folder was made


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished")
    result = invoke(*RUN, "--out", out)
    assert result.exit_code == 0, result.output
    return only_run_dir(out)


def _edit_meta(run_dir: Path, **changes: object) -> None:
    meta = json.loads((run_dir / "meta.json").read_text())
    (run_dir / "meta.json").write_text(json.dumps({**meta, **changes}))


def _replace(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda run_dir: (run_dir / name).write_bytes(content)


DEEPLY_NESTED_JSON = b"[" * 100_000 + b"]" * 100_000  # deeper than the decoder's recursion limit


def _folder_instead(name: str) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        (run_dir / name).unlink()
        (run_dir / name).mkdir()
    return damage


def _rows_of_version(version: str) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        runs = run_dir / "runs.csv"
        header, row = runs.read_text().splitlines()[:2]
        runs.write_text(f"{header}\n{version}{row[row.index(','):]}\n")
    return damage


@pytest.mark.parametrize("damage, extra, message", [
    (lambda d: (d / "meta.json").unlink(), [],
     "--resume {run}: it has no meta.json, so it is not a run folder to resume"),
    (_replace("meta.json", b"{not json"), [], "{run}/meta.json: not a readable meta.json (JSONDecodeError: "),
    (_replace("meta.json", b"[1, 2]"), [], "{run}/meta.json: not a benchsuite meta.json (expected a JSON object)"),
    (_replace("meta.json", DEEPLY_NESTED_JSON), [], "{run}/meta.json: not a readable meta.json (nested too deeply)"),
    (lambda d: _edit_meta(d, schema_version=0), [],
     "{run}/meta.json: written with schema_version 0; this benchsuite reads schema_version 1"),
    (_rows_of_version("7"), [],
     "{run}/runs.csv: written with schema_version 7; this benchsuite reads schema_version 1"),
    (lambda d: _edit_meta(d, options=None), [], "its meta.json records no options, so the run cannot be resumed"),
    (lambda d: _edit_meta(d, device="cuda"), [],
     "the run was measured on cuda, this one would run on cpu; pass --device cuda or start a new run"),
    (_folder_instead("runs.csv"), [], "cannot read {run}/runs.csv: Is a directory"),
    (_replace("runs.csv", b"schema_version,task\n1,\xff\xfe\n"), [],
     "cannot read {run}/runs.csv: it is not UTF-8 text"),
    (_replace("runs.csv", b'schema_version,task\n1,"a"b\n2,c\n'), [], "{run}/runs.csv, line 2: malformed CSV"),
    (_replace("runs.csv", b"schema_version,task\n1,apple\n"), [],
     "{run}/runs.csv: not a benchsuite runs.csv: missing column(s) cell, backend, num_layers"),
    (_replace("runs.csv", b"schema_version,task\n1,apple,extra\n"), [],
     "{run}/runs.csv: record 2 has 3 fields but the header has 2"),
    (None, ["--target", "0.5"], "--target 0.5 differs from the run's own unset (the default)"),
    (None, ["--threads", "1"], "--threads 1 differs from the run's own unset (the default)"),
    (None, ["--cell-opt", "rnn.x=1"], "--cell-opt {{'rnn': {{'x': '1'}}}} differs from the run's own unset"),
    (None, ["--out", "elsewhere"], "--out elsewhere does not apply with --resume: the run is finished in {run} itself"),
])
def test_bad_resume(finished_run, tmp_path, damage, extra, message):
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    if damage is not None:
        damage(run_dir)
    before = {path.name: path.read_bytes() for path in run_dir.iterdir() if path.is_file() and path.name != ".lock"}
    assert_bad_input(invoke("run", "--resume", run_dir, *extra), message.format(run=run_dir))
    after = {path.name: path.read_bytes() for path in run_dir.iterdir() if path.is_file() and path.name != ".lock"}
    assert after == before  # refused before anything was rewritten (the lock only names who last held it)


def test_report_of_a_deeply_nested_meta_json_is_bad_input(finished_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    _replace("meta.json", DEEPLY_NESTED_JSON)(run_dir)
    assert_bad_input(invoke("report", run_dir), f"{run_dir}/meta.json: not a readable meta.json (nested too deeply)")


def test_resume_of_a_missing_folder(tmp_path):
    assert_bad_input(invoke("run", "--resume", tmp_path / "nothing"),
                     f"--resume {tmp_path / 'nothing'}: no such run folder")
