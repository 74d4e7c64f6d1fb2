"""Sinks: an example plugin that logs a sweep to a fake tracker (a JSON-lines file), a resume that does not log the
rows it kept twice, and a failing sink that costs no row."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from helpers.runs import only_run_dir

# The example: about forty lines a tracker plugin needs (tracker.log stands in for the tracker's service).
TRACKER_PLUGIN = '''
"""Logs every run of a sweep to a tracker: one JSON line per event."""
import json

from benchsuite import Sink, hookimpl

TRACKER_LOG = {log!r}


class Tracker(Sink):
    def _send(self, **event):
        with open(TRACKER_LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps(event) + "\\n")

    def run_started(self, run_dir, meta):
        self.run, self.skipped = run_dir.name, 0
        self._send(event="start", run=self.run, device=meta["device"])

    def row_recorded(self, outcome, kept):
        if kept:  # a resume hands over the rows it kept: the run that recorded them logged them
            self.skipped += 1
            return
        row = outcome.row
        self._send(event="row", run=self.run, task=row["task"], cell=row["cell"], seed=row["seed"],
                   status=row["status"], final_loss=row["final_loss"],
                   losses=[point["value"] for point in outcome.curve if point["metric"] == "loss"])

    def run_finished(self, result):
        self._send(event="finish", run=self.run, rows=len(result.runs), skipped=self.skipped)


@hookimpl
def register_sinks(register):
    register(Tracker())
'''

BROKEN_PLUGIN = '''
from benchsuite import Sink, hookimpl


class Broken(Sink):
    def row_recorded(self, outcome, kept):
        raise RuntimeError("the tracker is down")


@hookimpl
def register_sinks(register):
    register(Broken())
'''


def _plugins(folder: Path, log: Path, broken: bool = False) -> Path:
    folder.mkdir()
    (folder / "tracker.py").write_text(TRACKER_PLUGIN.format(log=str(log)))
    if broken:
        (folder / "broken_sink.py").write_text(BROKEN_PLUGIN)  # loads first: the tracker must still hear all
    return folder


def _events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _rows_on_disk(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "runs.csv", newline="") as file:  # csv, not benchsuite's reader
        return list(csv.DictReader(file))


def _logged_as_on_disk(event: dict, row: dict[str, str]) -> bool:
    return ((event["task"], event["cell"], str(event["seed"]), event["status"]) ==
            (row["task"], row["cell"], row["seed"], row["status"]) and event["final_loss"] == float(row["final_loss"]))


def test_tracker_logs_each_row_once_and_a_resume_skips_the_rows_it_kept(bench, tmp_path):
    log = tmp_path / "tracker.log"
    plugins = _plugins(tmp_path / "plugins", log)
    first = bench("run", "--tasks", "apple", "--cells", "rnn", "--seeds", "0", "--epochs", "2", "--threads", "1",
                  "--device", "cpu", "--plugins-dir", str(plugins), "--no-report")
    assert first.exit_code == 0, first.output
    run_dir = only_run_dir(tmp_path / "results")
    resumed = bench("run", "--resume", str(run_dir), "--seeds", "0,1", "--plugins-dir", str(plugins), "--no-report")
    assert resumed.exit_code == 0, resumed.output

    events = _events(log)
    assert [event["event"] for event in events] == ["start", "row", "finish", "start", "row", "finish"]
    assert {event["run"] for event in events} == {run_dir.name}
    assert events[2]["rows"] == 1 and events[2]["skipped"] == 0
    assert events[5]["rows"] == 2 and events[5]["skipped"] == 1  # seed 0 arrived flagged as kept, and was skipped
    rows = _rows_on_disk(run_dir)
    assert [row["seed"] for row in rows] == ["0", "1"]
    for event, row in zip((events[1], events[4]), rows):
        assert _logged_as_on_disk(event, row)
        assert len(event["losses"]) == 2  # the curve arrived with the row: one training loss per epoch


def test_a_failing_sink_costs_no_row_and_is_reported(bench, tmp_path):
    log = tmp_path / "tracker.log"
    plugins = _plugins(tmp_path / "plugins", log, broken=True)
    result = bench("run", "--tasks", "apple", "--cells", "rnn", "--seeds", "0,1", "--epochs", "1", "--threads", "1",
                   "--device", "cpu", "--plugins-dir", str(plugins), "--no-report")
    assert result.exit_code == 0, result.output
    run_dir = only_run_dir(tmp_path / "results")
    warnings = [line for line in result.stderr.splitlines() if "broken_sink" in line]
    assert len(warnings) == 1 and "failed on row_recorded" in warnings[0] and "the tracker is down" in warnings[0]
    errors = (run_dir / "errors.log").read_text()
    assert "sink of plugin broken_sink" in errors and "RuntimeError: the tracker is down" in errors
    rows = _rows_on_disk(run_dir)
    assert [row["seed"] for row in rows] == ["0", "1"]
    logged = [event for event in _events(log) if event["event"] == "row"]
    assert len(logged) == 2 and all(_logged_as_on_disk(event, row) for event, row in zip(logged, rows))
