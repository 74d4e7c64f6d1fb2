"""The ray executor (`--executor ray`): each job one Ray task, on a local Ray instance that the run starts and
stops itself (`--workers N` jobs at once) or on an existing cluster (`--ray-address`, or RAY_ADDRESS).

The driver (this process) stays the run folder's only writer: it yields each outcome as its task returns. Each
task's data is put into Ray's object store once and shared by its jobs. Inside its task a job runs in a forked
process of its own (forked.py), so its crash or hang becomes its row; Ray retries a task only when its worker or
node is lost, and the retry still gives one row. Loose plugin files travel with the tasks as text, so a
`--plugins-dir` plugin works on a cluster too; entry-point plugins must be installed on every node.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from ..errors import BenchInputError
from ..measurement.timing import thread_count
from ..registry.loading import get_registry
from ..specs import TaskData
from . import EpochProgress, isolated
from .forked import run_forked
from .isolated import ChildFailure
from .job import JobOutcome, JobRequest, execute, failed, settled

if TYPE_CHECKING:
    from ..planning.options import RunOptions

INSTALL = "pip install 'benchsuite[ray]'"
# How often Ray reruns a task whose worker process or node was lost (a job's own crash is not such a loss).
RETRIES = 3
# Seconds between looks at the running tasks: how soon Ctrl-C is noticed while every job is still running.
POLL_SECONDS = 1.0


def available_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class RayExecutor:
    """Jobs as Ray tasks; without an address, a local instance sized `workers` x `threads` CPUs for the run."""

    workers: int | None = None  # jobs at once; None: one per core locally, as many as the cluster fits
    address: str | None = None  # an existing cluster, or None for a local instance
    threads: int | None = None  # torch threads (and Ray CPUs) per job; None: cores / workers, 1 on a cluster
    gpus_per_job: float | None = None  # share of a GPU per CUDA job; None: a whole one

    @classmethod
    def from_options(cls, options: RunOptions) -> RayExecutor:
        try:
            import ray  # noqa: F401  (checked here, before the run makes its folder)
        except ImportError:
            raise BenchInputError(f"--executor ray needs Ray, which is not installed here: {INSTALL}") from None
        return cls(options.workers, options.ray_address or os.environ.get("RAY_ADDRESS") or None, options.threads,
                   options.gpus_per_job)

    @property
    def job_threads(self) -> int:
        """Each job's torch threads and Ray CPUs: --threads, else an equal share of this machine's cores (one
        each on a cluster, whose nodes may differ)."""
        if self.threads is not None:
            return self.threads
        if self.address is not None:
            return 1
        return max(1, available_cores() // (self.workers or available_cores()))

    def outcomes(self, requests: Sequence[JobRequest], datasets: Mapping[str, TaskData | None],
                 epoch_progress: EpochProgress | None = None) -> Iterator[JobOutcome]:
        waiting = []
        for request in requests:
            request = replace(request, threads=self.job_threads)
            with thread_count(request.threads):  # a skipped row records the threads its job would have had
                done = settled(request, datasets[request.job.task])  # skips and failed tasks need no Ray
            if done is None:
                waiting.append(request)
            else:
                yield done
        if waiting:
            yield from self._run_on_ray(waiting, datasets)

    def _run_on_ray(self, requests: Sequence[JobRequest], datasets: Mapping[str, TaskData | None]
                    ) -> Iterator[JobOutcome]:
        import ray

        self._connect(ray)
        running: dict[Any, JobRequest] = {}
        try:
            shared = {task: ray.put(datasets[task]) for task in {request.job.task for request in requests}}
            plugin_files = _read_plugin_files(requests[0].plugins_dir)
            registry = get_registry(requests[0].plugins_dir)
            task = ray.remote(max_retries=RETRIES, retry_exceptions=False)(run_job)
            queue = deque(requests)
            limit = self.workers or len(queue)
            while queue or running:
                while queue and len(running) < limit:
                    request = queue.popleft()
                    grace = isolated.GRACE_SECONDS  # read now, so a test may shorten it
                    gpus = (self.gpus_per_job or 1.0) if request.device.startswith("cuda") else 0
                    ref = task.options(num_cpus=request.threads, num_gpus=gpus).remote(
                        request, shared[request.job.task], plugin_files, registry.cells[request.job.cell].plugin,
                        grace)
                    running[ref] = request
                ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_SECONDS)
                for ref in ready:
                    request = running.pop(ref)
                    yield _collect(ray, ref, request, datasets[request.job.task])
        finally:
            for ref in running:  # --fail-fast, Ctrl-C: what is still running is killed, not waited for
                ray.cancel(ref, force=True)
            ray.shutdown()  # stops the local instance; from a cluster, only disconnects

    def _connect(self, ray: Any) -> None:
        if self.address is not None:
            try:
                ray.init(address=self.address, logging_level="warning")
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise BenchInputError(f"--ray-address {self.address}: cannot connect to a Ray cluster there: {exc}; "
                                      "start one with `ray start --head` or check the address") from None
            return
        workers = self.workers or available_cores()
        # address="local": always a new instance for this run, never a cluster that happens to run on this machine.
        # Ray runs its workers at nice 15 by default, so any other load on the machine would slow (and distort the
        # timings of) the jobs; they run at the driver's own priority instead.
        ray.init(address="local", num_cpus=workers * self.job_threads, include_dashboard=False,
                 logging_level="warning", _system_config={"worker_niceness": 0})


def _collect(ray: Any, ref: Any, request: JobRequest, data: TaskData | None) -> JobOutcome:
    """A finished task's outcome; a task Ray could not finish (its worker or node lost past the retries, a
    result that would not unpickle) becomes an error row naming Ray's error."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        summary = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return failed(request, data, "error", f"the Ray task of this job failed: {type(exc).__name__}: {summary}",
                      details=str(exc))


def _read_plugin_files(plugins_dir: str | None) -> dict[str, str] | None:
    """The loose plugin files of `plugins_dir` by name, as text, to travel with the tasks."""
    if plugins_dir is None:
        return None
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(Path(plugins_dir).glob("*.py"))}


def _unpack_plugin_files(files: dict[str, str]) -> str:
    """A folder on this node holding `files` (written once per content), for the job's --plugins-dir."""
    digest = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"benchsuite-plugins-{digest}"
    if not folder.is_dir():
        staging = Path(tempfile.mkdtemp(prefix="benchsuite-plugins-"))
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        try:
            staging.rename(folder)
        except OSError:  # another worker on this node put the same files there first
            shutil.rmtree(staging, ignore_errors=True)
    return str(folder)


def run_job(request: JobRequest, data: TaskData, plugin_files: dict[str, str] | None, cell_plugin: str,
            grace: float) -> JobOutcome:
    """The body of one Ray task, on a worker: the job in a forked process of its own, killed as a timeout once it
    has run --timeout plus `grace` seconds (a job stops itself at --timeout between steps; the kill is for one hung
    in building or in a C call)."""
    if plugin_files is not None:
        request = replace(request, plugins_dir=_unpack_plugin_files(plugin_files))
    kill_after = None if request.timeout is None else request.timeout + grace
    outcome = run_forked(_execute_here, (request, data, cell_plugin), kill_after)
    if isinstance(outcome, ChildFailure):
        error = outcome.error
        if outcome.status == "timeout":
            error += f": it did not finish within --timeout {request.timeout:g} plus {grace:g} s grace " \
                     "(hung in building or in a step)"
        outcome = failed(request, data, outcome.status, error, details=error)
    return outcome


def _execute_here(request: JobRequest, data: TaskData, cell_plugin: str) -> JobOutcome:
    """`execute` in the job's process, after checking that this node knows the cell (else an error row naming the
    plugin to install)."""
    registry = get_registry(request.plugins_dir)
    if request.job.cell not in registry.cells:
        return failed(request, data, "error",
                      f"cell {request.job.cell!r} of plugin {cell_plugin!r} is not registered on Ray node "
                      f"{os.uname().nodename}: install that plugin in every node's environment (loose files "
                      "travel with --plugins-dir)")
    with thread_count(request.threads):
        return execute(request, data)
