"""A timed-out row keeps its last finished epoch's figures (marked partial) and its step time, shown in summary.md;
each row names the plugins (and versions) of its cell and task; meta.json the versions of every plugin's
distribution and of what it requires."""
from __future__ import annotations

import json

import numpy
import pytest

import benchsuite
from benchsuite.registry.loading import LOAD_ENV, get_registry
from benchsuite.results.files import read_csv_rows
from helpers.fakedist import fake_install
from helpers.faulty_cells import write_plugin
from helpers.runs import only_run_dir


@pytest.mark.usefixtures("one_thread")
def test_a_timeout_row_keeps_the_last_finished_epochs_figures(tmp_path, bench):
    # `slow` sleeps 0.05 s per forward; apple trains full batch, one step per epoch, so several epochs finish.
    result = bench("run", "--tasks", "apple", "--cells", "slow", "--epochs", "500", "--timeout", "0.6", "--device",
                   "cpu", "--plugins-dir", str(write_plugin(tmp_path / "plugins")), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    run_dir = only_run_dir(tmp_path / "out")
    (row,) = read_csv_rows(run_dir / "runs.csv")
    assert (row["status"], row["partial"]) == ("timeout", "True")
    last = int(row["epochs"]) - 1  # the epoch the timeout cut short is not finished
    assert last >= 2 and row["error"].endswith(f"; figures are from epoch {last}, the last finished")
    curve = {(int(point["epoch"]), point["metric"]): float(point["value"])
             for point in read_csv_rows(run_dir / "curves.csv")}
    assert float(row["accuracy"]) == curve[(last, "accuracy")]
    assert float(row["final_loss"]) == curve[(last, "loss")]
    assert float(row["step_ms_median"]) >= 50  # each step slept 50 ms
    summary = (run_dir / "summary.md").read_text()
    shown = (f"(partial: accuracy {float(row['accuracy']):.4g}, final_loss {float(row['final_loss']):.4g}, "
             "step_ms_median")
    assert shown in summary, summary


def test_rows_name_the_plugins_of_their_cell_and_task(tmp_path):
    table = benchsuite.run(tasks="apple", cells="rnn", epochs=1, device="cpu", out=tmp_path)
    row = table.iloc[0]
    assert (row["cell_plugin"], row["cell_plugin_version"]) == ("torch_cells", benchsuite.__version__)
    assert (row["task_plugin"], row["task_plugin_version"]) == ("seed_tasks", benchsuite.__version__)


CELL_PLUGIN = '''
from benchsuite import CellSpec, hookimpl

@hookimpl
def register_cells(register):
    def build(config):
        from torch import nn
        return nn.GRU(config.input_size, config.hidden_size, batch_first=True)
    register(CellSpec("wrapped-gru", "torch", build))
'''


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    site = tmp_path / "site"
    fake_install(site, "bench-wrapped", "2.5.1", {"wrapped": "bench_wrapped_mod"}, {"bench_wrapped_mod": CELL_PLUGIN},
                 requires=("numpy>=1", "surely-not-installed-pkg==1.0", "pytest; extra == 'test'"))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv(LOAD_ENV, "wrapped")
    get_registry.cache_clear()
    yield
    get_registry.cache_clear()


@pytest.mark.usefixtures("installed_plugin")
def test_meta_records_each_plugins_distribution_and_requirements(tmp_path):
    table = benchsuite.run(tasks="apple", cells="wrapped-gru", epochs=1, device="cpu", out=tmp_path / "out")
    row = table.iloc[0]
    assert (row["status"], row["cell_plugin"], row["cell_plugin_version"]) == ("ok", "wrapped", "2.5.1")
    meta = json.loads((only_run_dir(tmp_path / "out") / "meta.json").read_text())
    plugins = {record["name"]: record for record in meta["plugins"]}
    assert plugins["wrapped"] == {"name": "wrapped", "version": "2.5.1", "origin": "entry point of bench-wrapped",
                                  "status": "loaded", "distribution": "bench-wrapped",
                                  "requires": {"numpy": numpy.__version__, "surely-not-installed-pkg": None}}
    assert plugins["torch_cells"]["version"] == benchsuite.__version__ and "distribution" not in plugins["torch_cells"]
