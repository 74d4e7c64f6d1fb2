"""`--executor ray` against a real Ray runtime: a local instance the run starts and stops, and a simulated
multi-node cluster reached through --ray-address. Rows equal the inline executor's; every fault is one row.

Every Ray process here is started by this module (a cluster object it shuts down, or a driver process in a session
of its own whose group it ends), never found by name.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from benchsuite.execution import isolated
from benchsuite.execution.ray_executor import available_cores, use_token_if_this_user_has_one
from benchsuite.results.files import read_csv_rows
from benchsuite.results.schema import row_key
from helpers.cell import SOURCE as HOOKED_RNN
from helpers.cli import assert_bad_input
from helpers.fakedist import fake_install
from helpers.faulty_cells import write_plugin
from helpers.runs import only_run_dir

ray = pytest.importorskip("ray")  # the `ray` extra: where it is not installed these tests are skipped
cluster_utils = pytest.importorskip("ray.cluster_utils")
pytestmark = pytest.mark.slow  # each test starts Ray or connects to it: seconds apiece

APPLE = ["run", "--tasks", "apple", "--device", "cpu", "--epochs", "20", "--no-report"]
# Fast failure detection for the simulated cluster, so a removed node's jobs are rerun within seconds.
FAST_HEALTH_CHECKS = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500,
                      "health_check_failure_threshold": 3}
# A loose plugin whose cell notes, as it is built, its seed and the Ray node (raylet process) running it, and then
# takes about two seconds to train: the lost-node test removes a node while one of these runs on it.
LOGGED_CELL = '''
import os, time
from benchsuite import CellSpec, hookimpl

def parent(pid):
    with open(f"/proc/{{pid}}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])

def slow(layer, output):
    time.sleep(0.1)
    return output

def build(config):
    # this job's process <- its forkserver <- the Ray worker <- the node's raylet
    raylet = parent(parent(parent(os.getpid())))
    with open({log!r}, "a") as log:
        log.write(f"{{raylet}}\\n")
    return HookedRNN(config, slow)

@hookimpl
def register_cells(register):
    register(CellSpec("logged", "torch", build))
'''

LOCAL_ONLY_PLUGIN = """
from torch import nn
from benchsuite import CellSpec, hookimpl

@hookimpl
def register_cells(register):
    register(CellSpec("local_rnn", "torch", lambda config: nn.RNN(config.input_size, config.hidden_size,
                                                                  batch_first=True)))
"""

# A plugin whose cell notes, as it is built, the folder its file was imported from, that folder's permissions and
# owner: where a Ray job found its --plugins-dir files.
WHERE_PLUGIN = """
import os
from torch import nn
from benchsuite import CellSpec, hookimpl

def build(config):
    folder = os.path.dirname(os.path.abspath(__file__))
    facts = os.stat(folder)
    with open({log!r}, "a") as log:
        log.write(f"{{folder}} {{facts.st_mode & 0o777:o}} {{facts.st_uid}}\\n")
    return nn.RNN(config.input_size, config.hidden_size, batch_first=True)

@hookimpl
def register_cells(register):
    register(CellSpec("where", "torch", build))
"""
# A plugin in Latin-1, as its coding line says: its cell is called `latin` only where "café" decodes to 4 letters.
LATIN_PLUGIN = """# -*- coding: latin-1 -*-
from torch import nn
from benchsuite import CellSpec, hookimpl

@hookimpl
def register_cells(register):
    name = "latin" if len("café") == 4 else "misread"
    register(CellSpec(name, "torch", lambda config: nn.GRU(config.input_size, config.hidden_size, batch_first=True)))
""".encode("latin-1")


def rows_by_key(run_dir: Path) -> dict[tuple, dict[str, str]]:
    rows = read_csv_rows(run_dir / "runs.csv")
    keyed = {row_key(row): row for row in rows}
    assert len(keyed) == len(rows), "a row was written twice"
    return keyed


def assert_same_rows(ray_dir: Path, inline_dir: Path) -> None:
    """The same keys, statuses and parameter counts, accuracy and loss equal to 1e-6, the same columns and files."""
    ours, theirs = rows_by_key(ray_dir), rows_by_key(inline_dir)
    assert ours.keys() == theirs.keys()
    for key, row in ours.items():
        other = theirs[key]
        assert (row["status"], row["params"], row["threads"]) == (other["status"], other["params"], other["threads"])
        if row["status"] == "ok":
            assert float(row["accuracy"]) == pytest.approx(float(other["accuracy"]), abs=1e-6)
            assert float(row["final_loss"]) == pytest.approx(float(other["final_loss"]), rel=1e-6, abs=1e-9)
    assert list(next(iter(ours.values()))) == list(next(iter(theirs.values())))
    assert sorted(path.name for path in ray_dir.iterdir()) == sorted(path.name for path in inline_dir.iterdir())


def start_driver(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """`bench ARGS` in a session of its own, so that its whole process group (the driver, and a local Ray
    instance it starts) can be signalled and cleaned up by the group's id.

    Started as a terminal starts a foreground job, with SIGINT at its default: a test runner launched in the
    background by a script (`cmd &`) inherits SIGINT ignored, an ignored signal stays ignored across exec, and the
    driver would then rightly ignore the test's Ctrl-C. A handler (not SIG_IGN) in this process becomes the default
    in the child."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen([sys.executable, "-m", "benchsuite", *args], start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    finally:
        signal.signal(signal.SIGINT, previous)


def live_processes() -> dict[int, tuple[int, int, str]]:
    """Every live process (zombies waiting for their parent do not count): pid -> (parent, group, start time)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if entry.name.isdigit() and fields[0] != "Z":
            found[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[19])
    return found


def descendants(pid: int) -> dict[int, tuple[int, int, str]]:
    """The processes below `pid` now, by pid, with what `live_processes` says of them."""
    processes, below, frontier = live_processes(), {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, facts in processes.items():
            if facts[0] == parent and child not in below:
                below[child] = facts
                frontier.append(child)
    return below


def wait_gone(processes: dict[int, tuple[int, int, str]], limit: float = 60.0) -> list[int]:
    """Those of `processes` still alive (the same pid and start time) after waiting up to `limit` seconds."""
    deadline = time.monotonic() + limit
    while True:
        now = live_processes()
        left = [pid for pid, facts in processes.items() if pid in now and now[pid][2] == facts[2]]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def end_group(driver: subprocess.Popen) -> None:
    """Kill what is left of the driver's process group (it is the group's leader, so the group has its id)."""
    try:
        os.killpg(driver.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    driver.wait()


def wait_for_rows(out: Path, count: int, driver: subprocess.Popen, limit: float = 180.0) -> Path:
    """The run folder under `out` once its runs.csv has `count` rows."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and driver.poll() is None:
        runs = list(out.glob("*/runs.csv"))
        if runs and len(read_csv_rows(runs[0])) >= count:
            return runs[0].parent
        time.sleep(0.1)
    raise AssertionError(f"no {count} rows under {out} in time (driver exit code {driver.poll()})")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def ray_head(monkeypatch):
    """A head started as the README says, `ray start --head`, in a session of its own, with token authentication
    on (a token of its user: here a file named by RAY_AUTH_TOKEN_PATH, as ~/.ray/auth_token would be); its address.
    Its whole process group is killed after, by the group's id."""
    token = Path(tempfile.mkdtemp(prefix="raytoken-")) / "auth_token"
    token.write_text(uuid.uuid4().hex)
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(token))
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)  # as in a fresh shell (an in-process Ray instance sets it)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    port = free_port()
    scratch = tempfile.mkdtemp(prefix="rayhead-")  # short: Ray's socket paths in it must fit 107 characters
    head = subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--head", "--port", str(port),
                             "--num-cpus", "2", "--include-dashboard=false", "--temp-dir", scratch, "--block"],
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        said = []
        for line in head.stdout:  # ends when the head exits
            said.append(line)
            if "Ray runtime started" in line:
                break
        else:
            raise AssertionError("`ray start --head` failed:\n" + "".join(said))
        yield f"127.0.0.1:{port}"
    finally:
        end_group(head)
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(token.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    """A head without CPUs (the driver's node) and one worker node of two CPUs: jobs only run on worker nodes.
    It runs in this process, whose authentication mode the driver sets to token when this user has a Ray token
    (as `ray start --head` does): it is started in that mode, or its nodes could not call back to the driver."""
    use_token_if_this_user_has_one()
    simulated = cluster_utils.Cluster(initialize_head=True,
                        head_node_args={"num_cpus": 0, "_system_config": FAST_HEALTH_CHECKS})
    simulated.add_node(num_cpus=2)
    simulated.wait_for_nodes()
    yield simulated
    simulated.shutdown()


def test_local_instance_with_two_workers_gives_the_inline_rows(tmp_path, bench):
    grid = [*APPLE, "--cells", "rnn,gru", "--seeds", "0,1", "--directions", "uni,bi"]
    result = bench(*grid, "--executor", "ray", "--workers", "2", "--out", str(tmp_path / "ray"))
    assert result.exit_code == 0, result.output
    ray_dir = only_run_dir(tmp_path / "ray")
    rows = rows_by_key(ray_dir)
    # threads default to an equal share of the cores; the inline run is given the same to compare like with like
    share = max(1, available_cores() // 2)
    assert {row["threads"] for row in rows.values()} == {str(share)}
    assert sorted(row["status"] for row in rows.values()) == ["ok"] * 4 + ["skipped"] * 4
    assert "[8/8]" in result.output  # progress counts finished jobs
    assert not ray.is_initialized()  # the run stopped the instance it started

    inline = bench(*grid, "--threads", str(share), "--out", str(tmp_path / "inline"))
    assert inline.exit_code == 0, inline.output
    assert_same_rows(ray_dir, only_run_dir(tmp_path / "inline"))


def test_faults_become_rows_under_ray(tmp_path, bench, monkeypatch):
    # The driver hands its grace to each task. Far below the build's 60 s sleep, and far above the other jobs'
    # time to fail on their own even on a crowded machine.
    monkeypatch.setattr(isolated, "GRACE_SECONDS", 15.0)
    plugins = write_plugin(tmp_path / "plugins")
    result = bench(*APPLE, "--cells", "raises_on_4th_forward,exits_3,hangs_in_build", "--plugins-dir",
                   str(plugins), "--timeout", "5", "--executor", "ray", "--workers", "2", "--out",
                   str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    rows = {row["cell"]: row for row in rows_by_key(only_run_dir(tmp_path / "out")).values()}
    assert rows["raises_on_4th_forward"]["status"] == "error"
    assert rows["raises_on_4th_forward"]["error"] == "RuntimeError: raised on purpose on the fourth forward"
    assert rows["exits_3"]["status"] == "error"
    assert rows["exits_3"]["error"] == "the job's process ended without a result: exit code 3"
    assert rows["hangs_in_build"]["status"] == "timeout"
    # killed at its deadline (the build sleeps 60 s), not waited for
    assert rows["hangs_in_build"]["error"] == ("killed 20 s after the job started: it did not finish within --timeout "
                                               "5 plus 15 s grace (hung in building or in a step)")
    log = next((tmp_path / "out").glob("*/errors.log")).read_text()
    assert "--- apple exits_3 layers=1" in log and "exit code 3" in log
    assert 'raise RuntimeError("raised on purpose on the fourth forward")' in log


def test_cluster_through_ray_address_gives_the_inline_rows_with_loose_plugins(tmp_path, bench, cluster):
    plugins = write_plugin(tmp_path / "plugins")  # on the cluster only as text carried by the tasks
    grid = [*APPLE, "--cells", "rnn,slow", "--seeds", "0,1", "--plugins-dir", str(plugins), "--threads", "1"]
    result = bench(*grid, "--executor", "ray", "--ray-address", cluster.address, "--out", str(tmp_path / "ray"))
    assert result.exit_code == 0, result.output
    inline = bench(*grid, "--out", str(tmp_path / "inline"))
    assert inline.exit_code == 0, inline.output
    assert_same_rows(only_run_dir(tmp_path / "ray"), only_run_dir(tmp_path / "inline"))


def test_cell_missing_on_the_nodes_is_an_error_row_naming_its_plugin(tmp_path, cluster):
    # a plugin package installed where the driver runs, not on the cluster's nodes
    site = fake_install(tmp_path / "site", "benchsuite-local-only", "0.1.0", {"local_only": "local_only_cells"},
                        {"local_only_cells": LOCAL_ONLY_PLUGIN})
    driver = start_driver([*APPLE, "--cells", "local_rnn,rnn", "--executor", "ray", "--ray-address", cluster.address,
                           "--out", str(tmp_path / "out")],
                          env={"PYTHONPATH": str(site), "BENCHSUITE_LOAD_PLUGINS": "local_only"})
    try:
        output, _ = driver.communicate(timeout=240)
    finally:
        end_group(driver)
    assert driver.returncode == 1, output
    rows = {row["cell"]: row for row in rows_by_key(only_run_dir(tmp_path / "out")).values()}
    assert rows["rnn"]["status"] == "ok"
    assert rows["local_rnn"]["status"] == "error"
    assert rows["local_rnn"]["error"].startswith(
        "cell 'local_rnn' of plugin 'local_only' is not registered on Ray node")


def test_fail_fast_cancels_what_is_pending(tmp_path, bench, cluster):
    plugins = write_plugin(tmp_path / "plugins")
    result = bench(*APPLE, "--cells", "exits_3,sleeps,sleeps", "--seeds", "0,1,2", "--plugins-dir", str(plugins),
                   "--executor", "ray", "--ray-address", cluster.address, "--workers", "2", "--fail-fast",
                   "--out", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    rows = rows_by_key(only_run_dir(tmp_path / "out"))
    assert "exits_3" in {row["cell"] for row in rows.values()}
    assert len(rows) < 6 and "rows not run; finish with: bench run --resume" in result.output


def test_lost_node_reruns_its_job_elsewhere_one_row_each(tmp_path, cluster):
    log = tmp_path / "starts.log"
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "logged.py").write_text(HOOKED_RNN + LOGGED_CELL.format(log=str(log)))
    doomed = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    doomed_raylet = str(doomed.all_processes["raylet"][0].process.pid)
    out = tmp_path / "out"
    driver = start_driver([*APPLE, "--cells", "logged", "--seeds", "0,1,2,3,4,5", "--plugins-dir", str(plugins),
                           "--threads", "1", "--executor", "ray", "--ray-address", cluster.address, "--out", str(out)])
    try:
        deadline = time.monotonic() + 180
        while not (log.exists() and doomed_raylet in log.read_text().split()):
            assert time.monotonic() < deadline and driver.poll() is None, "no job ran on the added node"
            time.sleep(0.05)
        cluster.remove_node(doomed, allow_graceful=False)  # a job is being trained there now
        output, _ = driver.communicate(timeout=240)
    finally:
        end_group(driver)
    assert driver.returncode == 0, output
    rows = rows_by_key(only_run_dir(out))
    assert sorted(int(row["seed"]) for row in rows.values()) == list(range(6))
    assert {row["status"] for row in rows.values()} == {"ok"}
    assert len(log.read_text().split()) > 6  # the lost job was started again on the other node


def test_killed_driver_then_resume_finishes_every_row_once(tmp_path):
    plugins = write_plugin(tmp_path / "plugins")
    out = tmp_path / "out"
    sweep = [*APPLE, "--cells", "slow", "--seeds", "0,1,2,3,4,5", "--plugins-dir", str(plugins)]
    driver = start_driver([*sweep, "--executor", "ray", "--workers", "2", "--out", str(out)])
    try:
        run_dir = wait_for_rows(out, 1, driver)
        below = descendants(driver.pid)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        # Ray's workers, their forkservers and the job processes run outside the driver's process group, where no
        # cleanup by group reaches them: they must end with the instance. (Ray's own agents, in the group, wind
        # down after their own timeout; ending the group below spares waiting for them.)
        assert wait_gone({pid: facts for pid, facts in below.items() if facts[1] != driver.pid}) == []
    finally:
        end_group(driver)
    kept = rows_by_key(run_dir)
    assert 1 <= len(kept) < 6
    # --plugins-dir named again: see Guarantees
    resumed = start_driver(["run", "--resume", str(run_dir), "--plugins-dir", str(plugins)])
    try:
        output, _ = resumed.communicate(timeout=300)
    finally:
        end_group(resumed)
    assert resumed.returncode == 0, output
    rows = rows_by_key(run_dir)
    assert sorted(int(row["seed"]) for row in rows.values()) == list(range(6))
    assert all(rows[key]["train_seconds"] == row["train_seconds"] for key, row in kept.items())  # kept, not rerun


# Issue 29, item 8: SIGTERM (a scheduler ending the job) exited 134 with Ray's C++ dump and no resume command.
@pytest.mark.parametrize(("stop", "exit_code"), [
    (lambda driver: os.killpg(driver.pid, signal.SIGINT), 130),  # as a terminal's Ctrl-C does: the whole group
    (lambda driver: driver.send_signal(signal.SIGTERM), 143),  # as `kill` or a scheduler does: the driver
], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_the_instance_and_keeps_finished_rows(tmp_path, stop, exit_code):
    plugins = write_plugin(tmp_path / "plugins")
    out = tmp_path / "out"
    driver = start_driver([*APPLE, "--cells", "slow", "--seeds", "0,1,2,3,4,5", "--plugins-dir", str(plugins),
                           "--executor", "ray", "--workers", "2", "--out", str(out)])
    try:
        run_dir = wait_for_rows(out, 1, driver)
        below = descendants(driver.pid)
        stop(driver)
        output, _ = driver.communicate(timeout=120)
        assert driver.returncode == exit_code, output
        assert "Traceback" not in output
        assert f"Finish the run with: bench run --resume {run_dir} --plugins-dir {plugins}\n" in output
        assert wait_gone(below) == []  # the Ray instance the run started is gone, workers and all
    finally:
        end_group(driver)
    rows = rows_by_key(run_dir)
    assert 1 <= len(rows) < 6 and {row["status"] for row in rows.values()} == {"ok"}


# Issue 29, items 6 and 8: a head started with `ray start --head` (token authentication on) could not be reached
# with --ray-address; SIGTERM then exited 1 without the resume command.
def test_a_head_started_with_ray_start_is_reached_and_sigterm_gives_the_resume_command(tmp_path, ray_head):
    plugins = write_plugin(tmp_path / "plugins")
    out = tmp_path / "out"
    driver = start_driver([*APPLE, "--cells", "slow", "--seeds", "0,1,2,3,4,5", "--plugins-dir", str(plugins),
                           "--threads", "1", "--executor", "ray", "--ray-address", ray_head, "--out", str(out)])
    try:
        run_dir = wait_for_rows(out, 1, driver)
        driver.send_signal(signal.SIGTERM)
        output, _ = driver.communicate(timeout=120)
    finally:
        end_group(driver)
    assert driver.returncode == 143, output
    assert "Traceback" not in output and "InvalidAuthToken" not in output
    assert (f"Finish the run with: bench run --resume {run_dir} --plugins-dir {plugins} --ray-address {ray_head}\n"
            in output)
    rows = rows_by_key(run_dir)
    assert 1 <= len(rows) < 6 and {row["status"] for row in rows.values()} == {"ok"}


# Issue 29, item 7: an address where nothing answers hung without end; every failed connection left a run folder.
def test_a_cluster_out_of_reach_is_bad_input_before_the_run_makes_its_folder(tmp_path):
    out = tmp_path / "out"
    address = f"127.0.0.1:{free_port()}"  # nothing listens there: Ray would retry for ever
    limited = ("import sys; from benchsuite.execution import ray_executor; ray_executor.CONNECT_SECONDS = 5; "
               "from benchsuite.cli import main; main(sys.argv[1:], prog_name='bench')")
    driver = subprocess.Popen([sys.executable, "-c", limited, *APPLE, "--executor", "ray", "--ray-address", address,
                               "--out", str(out)], start_new_session=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        _, errors = driver.communicate(timeout=120)
    finally:
        end_group(driver)
    assert driver.returncode == 2, errors
    assert "Traceback" not in errors
    assert [line for line in errors.splitlines() if line.startswith("Error: ")] == [
        f"Error: --ray-address {address}: no Ray cluster answered there within 5 s; start one with `ray start "
        "--head` or check the address"]
    assert not out.exists()


def test_a_malformed_ray_address_is_bad_input_before_the_run_makes_its_folder(tmp_path, bench):
    out = tmp_path / "out"
    refused = bench(*APPLE, "--executor", "ray", "--ray-address", "head:port:6379", "--out", str(out))
    assert_bad_input(refused, "--ray-address head:port:6379: cannot connect to a Ray cluster there")
    assert not out.exists()
    assert not ray.is_initialized()


# Issue 29, items 3 and 11: jobs imported plugin files from a folder of a predictable name in /tmp that anyone could
# fill first, and the files travelled as UTF-8 text (a Latin-1 plugin or a binary junk.py crashed the run, a folder
# named sub.py ended it with "free some space").
def test_plugin_files_reach_each_job_in_a_private_folder_by_the_inline_loaders_rule(tmp_path, bench):
    plugins, log = tmp_path / "plugins", tmp_path / "where.log"
    plugins.mkdir()
    (plugins / "where.py").write_text(WHERE_PLUGIN.format(log=str(log)))
    (plugins / "latin.py").write_bytes(LATIN_PLUGIN)
    (plugins / "junk.py").write_bytes(bytes(range(256)))
    (plugins / "sub.py").mkdir()
    grid = [*APPLE, "--cells", "where,latin", "--seeds", "0,1", "--plugins-dir", str(plugins), "--threads", "1"]
    on_ray = bench(*grid, "--executor", "ray", "--workers", "2", "--out", str(tmp_path / "ray"))
    assert on_ray.exit_code == 0, on_ray.output
    assert "Traceback" not in on_ray.output and "free some space" not in on_ray.output
    folders = [line.split() for line in log.read_text().splitlines()]
    assert len(folders) == 2 and len({folder for folder, _, _ in folders}) == 2  # one folder per job
    for folder, mode, owner in folders:
        assert Path(folder) != plugins and not Path(folder).exists()  # a copy, removed when its job ended
        assert (mode, int(owner)) == ("700", os.getuid())
    inline = bench(*grid, "--out", str(tmp_path / "inline"))
    assert inline.exit_code == 0, inline.output
    assert_same_rows(only_run_dir(tmp_path / "ray"), only_run_dir(tmp_path / "inline"))
    assert {row["cell"] for row in rows_by_key(only_run_dir(tmp_path / "ray")).values()} == {"where", "latin"}
