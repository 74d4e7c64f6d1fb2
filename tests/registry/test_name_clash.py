"""An installed plugin registering a cell and a task a built-in already has: both stay usable, the plugin's as
`PLUGIN:NAME`, through a run, its rows, a resume and a comparison."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from benchsuite.registry.loading import LOAD_ENV, get_registry
from benchsuite.results.files import read_csv_rows
from helpers.fakedist import fake_install
from helpers.runs import only_run_dir

# A plugin called `clash` with its own `lru` (torch's Elman RNN) and its own `apple` (a two-letter alternation).
CLASH_PLUGIN = textwrap.dedent('''
    from benchsuite import CellSpec, TaskData, TaskSpec, hookimpl

    def build_rnn(config):
        from torch import nn
        return nn.RNN(config.input_size, config.hidden_size, batch_first=True)

    def build_alternation():
        import numpy as np
        return TaskData(["a", "b"], np.array([[0, 1, 0, 1]]), np.array([[1, 0, 1, 0]]))

    @hookimpl
    def register_cells(register):
        register(CellSpec("lru", "torch", build_rnn, "an Elman RNN that took a built-in's name"))

    @hookimpl
    def register_tasks(register):
        register(TaskSpec("apple", build_alternation, "an alternation that took a built-in's name"))
''')


@pytest.fixture
def clash_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    site = fake_install(tmp_path / "site", "bench-clash", "0.3", {"clash": "bench_clash"},
                        {"bench_clash": CLASH_PLUGIN})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv(LOAD_ENV, "clash")
    get_registry.cache_clear()
    yield
    get_registry.cache_clear()


@pytest.mark.slow
def test_a_builtin_and_a_plugin_cell_and_task_of_one_name_both_train(clash_installed, tmp_path: Path, bench) -> None:
    out = tmp_path / "out"
    first = bench("run", "--tasks", "apple,clash:apple", "--cells", "lru,clash:lru", "--hidden", "4", "--epochs", "1",
                  "--seeds", "0", "--device", "cpu", "--threads", "1", "--no-report", "--out", str(out))
    assert first.exit_code == 0, first.output
    assert "which plugin 'baseline_cells' registered first; the one from plugin 'clash' is named 'clash:lru'" in \
        first.stderr
    run_dir = only_run_dir(out)
    rows = read_csv_rows(run_dir / "runs.csv")
    recorded = [(row["task"], row["task_plugin"], row["cell"], row["cell_plugin"], row["status"]) for row in rows]
    assert sorted(recorded) == [
        ("apple", "seed_tasks", "clash:lru", "clash", "ok"), ("apple", "seed_tasks", "lru", "baseline_cells", "ok"),
        ("clash:apple", "clash", "clash:lru", "clash", "ok"), ("clash:apple", "clash", "lru", "baseline_cells", "ok")]

    # A resume keeps those four rows (matched by their qualified names) and adds only the new seed's.
    resumed = bench("run", "--resume", str(run_dir), "--seeds", "0,1")
    assert resumed.exit_code == 0, resumed.output
    after = read_csv_rows(run_dir / "runs.csv")
    assert after[:4] == rows
    assert sorted((row["task"], row["cell"], row["seed"]) for row in after[4:]) == [
        ("apple", "clash:lru", "1"), ("apple", "lru", "1"), ("clash:apple", "clash:lru", "1"),
        ("clash:apple", "lru", "1")]

    # compare matches each variant with itself, the qualified ones included.
    compared = bench("compare", str(run_dir), str(run_dir), "--format", "json")
    assert compared.exit_code == 0, compared.output
    document = json.loads(compared.stdout)
    assert {(metric["task"], metric["cell"]) for metric in document["metrics"]} == {
        ("apple", "lru"), ("apple", "clash:lru"), ("clash:apple", "lru"), ("clash:apple", "clash:lru")}
    assert not document["regressed"] and not document["only_a"] and not document["only_b"]
