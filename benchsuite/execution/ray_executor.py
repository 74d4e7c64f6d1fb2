"""The ray executor (`--executor ray`): each job one Ray task, on a local Ray instance that the run starts and
stops itself (`--workers N` jobs at once) or on an existing cluster (`--ray-address`, or RAY_ADDRESS).

The driver (this process) stays the run folder's only writer: it yields each outcome as its task returns. Each
task's data is put into Ray's object store once and shared by its jobs. Inside its task a job runs in a forked
process of its own (forked.py), so its crash or hang becomes its row; Ray retries a task only when its worker or
node is lost, and the retry still gives one row. Loose plugin files travel with the tasks as bytes, so a
`--plugins-dir` plugin works on a cluster too; entry-point plugins must be installed on every node.

A cluster is reached before the run makes its folder, within CONNECT_SECONDS, with this user's Ray token when there
is one (as `ray start --head` enables token authentication when one exists); what its tasks return is recorded only
if it is the outcome of the job asked for.
"""
from __future__ import annotations

import logging
import os
import signal
import tempfile
import threading
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from ..errors import BenchInputError
from ..measurement.environment import thread_count
from ..registry.loading import get_registry, loose_plugin_files
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
# How long reaching --ray-address may take: Ray retries an address where nothing answers without end.
CONNECT_SECONDS = 30.0
# Ray's warnings about what the driver does on purpose, left unsaid: its logger, and how the warning begins.
EXPECTED_NOTICES = {"ray._private.worker": "SIGTERM handler is not set",  # the driver keeps its own
                    "ray._private.authentication.authentication_token_setup": "Token authentication is enabled"}


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
        executor = cls(options.workers, options.ray_address or os.environ.get("RAY_ADDRESS") or None,
                       options.threads, options.gpus_per_job)
        if executor.address is not None:  # a cluster out of reach is bad input before the run makes its folder
            executor._connect(ray)
            ray.shutdown()
        return executor

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
            plugin_files = None if requests[0].plugins_dir is None else _read_plugin_files(requests[0].plugins_dir)
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
            # --fail-fast, Ctrl-C, SIGTERM: what is still running is not waited for. Leaving Ray ends it: the local
            # instance stops with its workers, and a cluster's nodes kill the workers of tasks whose owner (this
            # driver) has gone. No ray.cancel(force=True) first: it kills workers whose results may be on their way,
            # and Ray 2.60 was seen to abort the driver on that (task_manager.cc) before the resume command was said.
            ray.shutdown()

    def _connect(self, ray: Any) -> None:
        with _expected_notices_unsaid():
            if self.address is None:
                workers = self.workers or available_cores()
                # address="local": always a new instance for this run, never a cluster that happens to run on this
                # machine. Ray runs its workers at nice 15 by default, so any other load on the machine would slow
                # (and distort the timings of) the jobs; they run at the driver's own priority instead.
                _init_keeping_sigterm(ray, None, address="local", num_cpus=workers * self.job_threads,
                                      include_dashboard=False, logging_level="warning",
                                      _system_config={"worker_niceness": 0})
                return
            use_token_if_this_user_has_one()
            try:
                _init_keeping_sigterm(ray, CONNECT_SECONDS, address=self.address, logging_level="warning")
            except TimeoutError:
                raise BenchInputError(f"--ray-address {self.address}: no Ray cluster answered there within "
                                      f"{CONNECT_SECONDS:g} s; start one with `ray start --head` or check the "
                                      "address") from None
            except (ConnectionError, ValueError, RuntimeError, ray.exceptions.RayError) as exc:
                cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise BenchInputError(f"--ray-address {self.address}: cannot connect to a Ray cluster there "
                                      f"({cause}); start one with `ray start --head`, check the address, and give "
                                      "this machine the cluster's token if it has one (`ray get-auth-token`, "
                                      "RAY_AUTH_TOKEN)") from None


def use_token_if_this_user_has_one() -> None:
    """Authenticate to a cluster with this user's Ray token when there is one and RAY_AUTH_MODE is unset.

    `ray start --head` turns token authentication on whenever its user has a token (RAY_AUTH_TOKEN,
    RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token), but ray.init sends none to an address it is given unless RAY_AUTH_MODE
    is token, so a head started by the same user could not be reached. RAY_AUTH_MODE=disabled still opts out.
    """
    try:
        from ray._private.authentication.authentication_token_setup import maybe_enable_token_auth_if_token_available
    except ImportError:  # a Ray before token authentication (2.52)
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def _init_keeping_sigterm(ray: Any, limit: float | None, **settings: Any) -> None:
    """`ray.init(**settings)`, given up as a TimeoutError after `limit` seconds (None: no limit), leaving the
    driver's SIGTERM handler in place: Ray replaces it with one that exits (or its C++ core with one that aborts),
    where the run must stop as on Ctrl-C, with exit 143 and the resume command."""
    handler = signal.getsignal(signal.SIGTERM)
    try:
        if limit is None:
            ray.init(**settings)
            return
        # In a thread of its own, which can be abandoned: a connection attempt cannot be cancelled.
        failure: list[BaseException] = []

        def connect() -> None:
            try:
                ray.init(**settings)
            except BaseException as exc:  # handed to the caller's thread
                failure.append(exc)

        thread = threading.Thread(target=connect, name="ray-connect", daemon=True)
        thread.start()
        thread.join(limit)
        if thread.is_alive():
            raise TimeoutError(f"ray.init did not return within {limit:g} s")
        if failure:
            raise failure[0]
    finally:
        if handler is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, handler)


class _Unsaid(logging.Filter):
    """Drops the records of a logger whose message begins with `beginning`."""

    def __init__(self, beginning: str) -> None:
        super().__init__()
        self.beginning = beginning

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.beginning)


@contextmanager
def _expected_notices_unsaid() -> Iterator[None]:
    """Ray's EXPECTED_NOTICES left unsaid while the driver starts or reaches Ray."""
    filters = {logging.getLogger(name): _Unsaid(beginning) for name, beginning in EXPECTED_NOTICES.items()}
    for logger, unsaid in filters.items():
        logger.addFilter(unsaid)
    try:
        yield
    finally:
        for logger, unsaid in filters.items():
            logger.removeFilter(unsaid)


def _collect(ray: Any, ref: Any, request: JobRequest, data: TaskData | None) -> JobOutcome:
    """A finished task's outcome; a task Ray could not finish (its worker or node lost past the retries, a
    result that would not unpickle) becomes an error row naming Ray's error."""
    try:
        outcome = ray.get(ref)
    except ray.exceptions.RayError as exc:
        summary = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return failed(request, data, "error", f"the Ray task of this job failed: {type(exc).__name__}: {summary}",
                      details=str(exc))
    if not (isinstance(outcome, JobOutcome) and outcome.job == request.job and isinstance(outcome.row, dict)):
        return failed(request, data, "error", f"the Ray task of this job returned a {type(outcome).__name__} that "
                                              "is not this job's outcome; it was not recorded")
    return outcome


def _read_plugin_files(plugins_dir: str) -> dict[str, bytes]:
    """The loose plugin files of `plugins_dir` by name, as bytes (any encoding a plugin declares travels as it is),
    to travel with the tasks; one that cannot be read is left out, as the driver's own loading already warned."""
    files = {}
    for path in loose_plugin_files(plugins_dir):
        try:
            files[path.name] = path.read_bytes()
        except OSError:
            continue
    return files


@contextmanager
def _unpacked(files: dict[str, bytes] | None) -> Iterator[str | None]:
    """A folder of this job's own holding `files`, for its --plugins-dir (None without files): made afresh,
    readable by this user only and removed after, so no other user or earlier run can put code in it."""
    if files is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="benchsuite-plugins-") as folder:
        for name, content in files.items():
            with open(os.path.join(folder, name), "xb") as file:
                file.write(content)
        yield folder


def run_job(request: JobRequest, data: TaskData, plugin_files: dict[str, bytes] | None, cell_plugin: str,
            grace: float) -> JobOutcome:
    """The body of one Ray task, on a worker: the job in a forked process of its own, killed as a timeout once it
    has run --timeout plus `grace` seconds (a job stops itself at --timeout between steps; the kill is for one hung
    in building or in a C call)."""
    kill_after = None if request.timeout is None else request.timeout + grace
    with _unpacked(plugin_files) as plugins_dir:
        request = replace(request, plugins_dir=plugins_dir)
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
