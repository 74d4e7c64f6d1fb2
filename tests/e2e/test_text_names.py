"""Names pandas would read as missing (`nan`, `None`, `NA`) stay names from runs.csv to summary, report and compare."""
from __future__ import annotations

import csv

from helpers.cli import invoke
from helpers.runs import only_run_dir

PLUGIN = '''
from benchsuite import CellSpec, TaskSpec, hookimpl
from benchsuite_plugins.tasks.seed_tasks import build_apple
from benchsuite_plugins.cells.torch_cells import _builder


@hookimpl
def register_cells(register):
    for name in ("nan", "None"):
        register(CellSpec(name, "torch", _builder("RNN"), native_variants=True))


@hookimpl
def register_tasks(register):
    register(TaskSpec("NA", build_apple, defaults={"hidden_size": 5, "epochs": 3, "lr": 0.1}))
'''


def test_names_that_look_missing_stay_names_everywhere(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "names.py").write_text(PLUGIN)
    result = invoke("run", "--tasks", "NA", "--cells", "nan,None", "--device", "cpu", "--threads",
                                       "1", "--plugins-dir", str(plugins), "--quiet", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    run_dir = only_run_dir(tmp_path / "out")
    with open(run_dir / "summary.csv", newline="") as handle:
        assert [(row["task"], row["cell"], row["n_seeds"]) for row in csv.DictReader(handle)] == [
            ("NA", "None", "1"), ("NA", "nan", "1")]  # in key order
    report = (run_dir / "summary.md").read_text()
    assert "## NA" in report and "| nan 1L uni h5 |" in report and "| None 1L uni h5 |" in report
    compared = invoke("compare", str(run_dir), str(run_dir), "--format", "json")
    assert compared.exit_code == 0, compared.output
    assert '"only_a": []' in compared.stdout and '"cell": "nan"' in compared.stdout
    assert '"task": "NA"' in compared.stdout
