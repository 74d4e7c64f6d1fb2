"""Exporting runs to experiment trackers, each read back from its real store by that tracker's own reader: MLflow's
client on a SQLite store, TensorBoard's EventAccumulator on the event files, W&B's `wandb leet inspect` on the
offline run files. The run folder's files (read with csv and pandas) are the reference."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas
import pytest

from helpers.cli import assert_bad_input
from helpers.runs import only_run_dir, wait_for_rows

pytestmark = pytest.mark.slow  # each test trains a tiny run and opens a tracker's store (seconds)

RUN = ("run", "--tasks", "apple", "--cells", "rnn", "--seeds", "0,1", "--epochs", "3", "--threads", "1", "--device",
       "cpu")


@pytest.fixture(autouse=True)
def wandb_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """W&B keeps its staging copies and settings in the test's folder (tests/conftest.py keeps it offline)."""
    for variable in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(variable, str(tmp_path / "wandb-home"))


def _rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "runs.csv", newline="") as file:  # csv, not benchsuite's reader
        return list(csv.DictReader(file))


def _curve(run_dir: Path, row: dict[str, str], metric: str) -> list[tuple[int, float]]:
    """A row's per-epoch `metric` from curves.csv, read with pandas."""
    curves = pandas.read_csv(run_dir / "curves.csv")
    mine = curves[(curves["task"] == row["task"]) & (curves["cell"] == row["cell"]) &
                  (curves["seed"] == int(row["seed"])) & (curves["metric"] == metric)].sort_values("epoch")
    return list(zip(mine["epoch"].astype(int), mine["value"].astype(float)))


def _same_curve(got: list[tuple[int, float]], expected: list[tuple[int, float]]) -> bool:
    """The same epochs with the same values (to float32, which TensorBoard stores)."""
    return ([step for step, _ in got] == [step for step, _ in expected] and
            [value for _, value in got] == pytest.approx([value for _, value in expected], rel=1e-6))


def _mlflow_children(database: Path, run_name: str) -> tuple[str, list]:
    """The parent run of `run_name` in the SQLite store and its live children, read with MLflow's client."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{database}")
    (experiment,) = [e for e in client.search_experiments() if e.name == "benchsuite"]
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [run for run in runs if run.data.tags.get("benchsuite.run") == run_name
               and "mlflow.parentRunId" not in run.data.tags]
    assert len(parents) == 1, [run.data.tags for run in runs]
    parent = parents[0].info.run_id
    return parent, [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent]


def test_mlflow_holds_each_row_as_a_child_run_with_its_settings_curves_figures_and_the_files(bench, tmp_path):
    from mlflow.tracking import MlflowClient

    database = tmp_path / "store" / "mlflow.db"
    done = bench(*RUN, "--export", f"mlflow={database}")
    assert done.exit_code == 0, done.output
    run_dir = only_run_dir(tmp_path / "results")
    parent, children = _mlflow_children(database, run_dir.name)
    rows = _rows(run_dir)
    assert len(children) == len(rows) == 2
    client = MlflowClient(tracking_uri=f"sqlite:///{database}")
    for row in rows:
        (child,) = [run for run in children if run.data.tags["seed"] == row["seed"]]
        assert child.info.status == "FINISHED"
        assert {key: child.data.tags[key] for key in ("task", "cell", "status")} == \
               {"task": row["task"], "cell": row["cell"], "status": row["status"]}
        assert child.data.tags["variant"].startswith(f"apple rnn 1L uni h{row['hidden_size']}")
        assert float(child.data.params["lr"]) == float(row["lr"])
        assert int(child.data.params["hidden_size"]) == int(row["hidden_size"])
        assert child.data.metrics["accuracy"] == pytest.approx(float(row["accuracy"]))
        assert child.data.metrics["final_loss"] == pytest.approx(float(row["final_loss"]))
        history = client.get_metric_history(child.info.run_id, "curve/loss")
        assert _same_curve(sorted((metric.step, metric.value) for metric in history), _curve(run_dir, row, "loss"))
    artifacts = {item.path for item in client.list_artifacts(parent)}
    assert {"runs.csv", "summary.csv", "summary.md", "report.html", "meta.json"} <= artifacts
    assert any(path.endswith(".png") for path in artifacts)  # the plots, written after the last row
    (record,) = json.loads((run_dir / "meta.json").read_text())["exports"]
    assert record["exporter"] == "mlflow" and record["parent"] == parent
    assert record["destination"] == f"sqlite:///{database}"

    # Exporting again (twice) finds every row there: nothing is added or rewritten.
    before = sorted(run.info.run_id for run in children)
    for _ in range(2):
        again = bench("export", str(run_dir), "--to", "mlflow", "--uri", str(database))
        assert again.exit_code == 0, again.output
        assert f"mlflow: 2 rows of {run_dir}" in again.output
    parent_again, children_again = _mlflow_children(database, run_dir.name)
    assert parent_again == parent and sorted(run.info.run_id for run in children_again) == before
    assert len(json.loads((run_dir / "meta.json").read_text())["exports"]) == 1  # one tracker, one destination


def test_a_run_killed_midway_and_resumed_has_each_row_once_in_mlflow(bench, tmp_path):
    database, out, seeds = tmp_path / "mlflow.db", tmp_path / "results", 6
    log = tmp_path / "child.log"
    with open(log, "w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "benchsuite", *RUN[:5], "--seeds", ",".join(map(str, range(seeds))), "--epochs",
             "40", "--threads", "1", "--device", "cpu", "--export", f"mlflow={database}", "--out", str(out),
             "--no-report", "--quiet"], stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            while not out.exists() or not any(out.iterdir()):
                assert child.poll() is None, log.read_text()
                time.sleep(0.05)
            run_dir = only_run_dir(out)
            wait_for_rows(run_dir / "runs.csv", 2, child, limit=240.0)  # the child imports MLflow first
        finally:
            os.kill(child.pid, signal.SIGKILL)  # no handler, no cleanup: an export may be cut off mid-row
            child.wait()
    finished = _rows(run_dir)
    assert 2 <= len(finished) < seeds, log.read_text()

    resumed = bench("run", "--resume", str(run_dir), "--no-report")
    assert resumed.exit_code == 0, resumed.output
    rows = _rows(run_dir)
    assert sorted(int(row["seed"]) for row in rows) == list(range(seeds))
    _, children = _mlflow_children(database, run_dir.name)
    assert sorted(int(run.data.tags["seed"]) for run in children) == list(range(seeds))  # each row exactly once
    assert all(run.info.status == "FINISHED" for run in children)
    for run in children:
        (row,) = [row for row in rows if row["seed"] == run.data.tags["seed"]]
        assert run.data.metrics["final_loss"] == pytest.approx(float(row["final_loss"]))


def test_tensorboard_writes_a_log_folder_per_row_with_its_curves_and_hparams(bench, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    logs = tmp_path / "tb"
    done = bench(*RUN, "--export", f"tensorboard={logs}", "--no-report")
    assert done.exit_code == 0, done.output
    run_dir = only_run_dir(tmp_path / "results")
    rows = _rows(run_dir)
    folders = sorted(path for path in (logs / run_dir.name).iterdir() if path.name != "files")
    assert len(folders) == len(rows) == 2
    for row in rows:
        (folder,) = [path for path in folders if path.name.endswith(f"seed {row['seed']}")]
        events = EventAccumulator(str(folder))
        events.Reload()
        loss = [(event.step, event.value) for event in events.Scalars("curve/loss")]
        assert _same_curve(loss, _curve(run_dir, row, "loss"))
        assert events.Scalars("accuracy")[-1].value == pytest.approx(float(row["accuracy"]))
        content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
        hparams = HParamsPluginData.FromString(content).session_start_info.hparams
        assert hparams["lr"].number_value == pytest.approx(float(row["lr"]))
        assert (hparams["status"].string_value, hparams["cell"].string_value) == (row["status"], row["cell"])
    assert (logs / run_dir.name / "files" / "runs.csv").read_text() == (run_dir / "runs.csv").read_text()

    again = bench("export", str(run_dir), "--to", "tensorboard", "--dir", str(logs))
    assert again.exit_code == 0, again.output
    assert sorted(path for path in (logs / run_dir.name).iterdir() if path.name != "files") == folders
    assert not (logs / ".partial").exists()


def _inspect(run_folder: Path, *flags: str) -> str:
    """W&B's own reader of an offline run's .wandb file."""
    wandb = Path(sys.executable).with_name("wandb")
    done = subprocess.run([str(wandb), "leet", "inspect", "--json", *flags, str(run_folder)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_wandb_offline_runs_are_grouped_by_variant_with_curves_and_figures(bench, tmp_path):
    folder = tmp_path / "wb"
    done = bench(*RUN, "--export", f"wandb={folder}", "--no-report")
    assert done.exit_code == 0, done.output
    run_dir = only_run_dir(tmp_path / "results")
    rows = _rows(run_dir)
    runs = sorted((folder / "wandb").glob("offline-run-*"))
    assert len(runs) == len(rows) + 1  # a run per row, and the run folder's with its files
    summaries = {path: json.loads(_inspect(path, "--summary")) for path in runs}
    children = {path: summary for path, summary in summaries.items() if "seed" in summary["config"]}
    assert len(children) == 2
    groups = set()
    for row in rows:
        ((path, summary),) = [(path, summary) for path, summary in children.items()
                              if summary["config"]["seed"] == int(row["seed"])]
        assert summary["state"] == "finished"
        assert (summary["config"]["task"], summary["config"]["status"]) == (row["task"], row["status"])
        assert summary["summary"]["accuracy"] == pytest.approx(float(row["accuracy"]))
        records = [json.loads(line) for line in _inspect(path).splitlines()]
        (start,) = [record["run"] for record in records if record["type"] == "run"]
        groups.add(start["run_group"])
        loss = [(record["history"]["step"].get("num", 0), record["history"]["item"]["curve/loss"])
                for record in records if record["type"] == "history"]
        assert _same_curve(loss, _curve(run_dir, row, "loss"))
    assert len(groups) == 1 and groups.pop().startswith("apple rnn 1L uni")  # both seeds in one band
    (files,) = [path for path in runs if path not in children]
    artifacts = [json.loads(line)["artifact"] for line in _inspect(files).splitlines()
                 if json.loads(line)["type"] == "artifact"]
    assert {"runs.csv", "summary.csv"} <= {item["path"] for item in artifacts[0]["manifest"]["contents"]}

    again = bench("export", str(run_dir), "--to", "wandb", "--dir", str(folder))
    assert again.exit_code == 0, again.output
    assert len(list((folder / "wandb").glob("offline-run-*"))) == len(runs)  # nothing doubled


FLAKY_EXPORTER = '''
"""An exporter whose store fails on the second row: a JSON-lines file stands in for the tracker."""
import json
from pathlib import Path

from benchsuite import Exporter, ExporterSpec, hookimpl


class Flaky(Exporter):
    def open_parent(self, run_dir, meta):
        self.store = Path(self.destination)
        return run_dir.name

    def exported(self):
        lines = self.store.read_text().splitlines() if self.store.exists() else []
        return {json.loads(line)["key"] for line in lines}

    def discard(self, key):
        pass

    def write_row(self, row):
        if len(self.exported()) == 1:
            raise ConnectionError("the tracker went away")
        with open(self.store, "a") as store:
            store.write(json.dumps({"key": row.key, "seed": row.tags["seed"]}) + "\\n")

    def write_files(self, files, run_dir):
        pass


@hookimpl
def register_exporters(register):
    register(ExporterSpec("flaky", Flaky, "fails on its second row", default_destination="flaky.jsonl"))
'''


def test_a_plugin_exporter_that_fails_midway_costs_no_row(bench, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "flaky_tracker.py").write_text(FLAKY_EXPORTER)
    done = bench(*RUN[:5], "--seeds", "0,1,2", "--epochs", "2", "--threads", "1", "--device", "cpu",
                 "--plugins-dir", str(plugins), "--export", "flaky", "--no-report")
    assert done.exit_code == 0, done.output
    run_dir = only_run_dir(tmp_path / "results")
    assert [row["seed"] for row in _rows(run_dir)] == ["0", "1", "2"]  # the run went on
    warnings = [line for line in done.stderr.splitlines() if "flaky exporter" in line]
    assert len(warnings) == 1 and "failed on row_recorded" in warnings[0] and "went away" in warnings[0]
    assert "ConnectionError: the tracker went away" in (run_dir / "errors.log").read_text()
    store = tmp_path / "results" / "flaky.jsonl"  # its default destination, beside the run folder
    assert [json.loads(line)["seed"] for line in store.read_text().splitlines()] == ["0"]

    again = bench("export", str(run_dir), "--to", "flaky", "--plugins-dir", str(plugins))  # it fails again
    assert again.exit_code == 1 and "Traceback" not in again.output, again.output
    (line,) = again.stderr.splitlines()
    assert "the export stopped: ConnectionError: the tracker went away" in line


def test_bad_exports_are_one_message_before_anything_runs(bench, tmp_path, monkeypatch):
    out = tmp_path / "results"
    assert_bad_input(bench(*RUN, "--export", "nope"), "exporter", "nope", "mlflow")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert_bad_input(bench(*RUN, "--export", f"tensorboard={a_file / 'logs'}"), "tensorboard", "cannot write")
    assert_bad_input(bench(*RUN, "--export", f"mlflow={a_file / 'mlflow.db'}"), "mlflow", "cannot write")
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if the extra were not installed
    assert_bad_input(bench(*RUN, "--export", "wandb"), "pip install 'benchsuite[wandb]'")
    assert not out.exists()  # no run folder was made

    assert bench(*RUN[:5], "--epochs", "1", "--device", "cpu", "--no-report").exit_code == 0
    run_dir = only_run_dir(out)
    assert_bad_input(bench("export", str(run_dir), "--to", "nope"), "exporter", "nope")
    assert_bad_input(bench("export", str(run_dir), "--to", "mlflow", "--uri", "x.db", "--dir", "y"), "--uri", "--dir")
    assert_bad_input(bench("export", str(tmp_path / "missing"), "--to", "mlflow"), "missing")
