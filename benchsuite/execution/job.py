"""One job, executed: build its cell, train and measure it, and turn the result (or any failure) into an outcome.

Every executor imports this module: the inline one calls `execute` in the driver's process, the isolated one in a
child process. A request and its outcome are plain picklable dataclasses; the cell is named, not held, and resolved
here from the plugins the request names.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from ..backbones import RECIPE_BACKBONES, open_session
from ..backbones.recipes import BlockRecipe, recipe
from ..backends import DEFAULT_PRECISION, Schedule, TrainingSettings
from ..checkpoints import ModelState
from ..measurement.environment import threads_in_use
from ..measurement.measure import measure
from ..measurement.memory import PeakMemory
from ..measurement.predictions import model_state, prediction_text
from ..measurement.slices import task_slicing
from ..measurement.train import EpochRecord
from ..planning.grid import Job
from ..planning.tasks import longest_sequence
from ..registry.loading import get_registry
from ..specs import CellConfig, TaskData

# The swept settings a session trains with: those named as TrainingSettings' fields (max_epochs goes to `measure`).
TRAINED = {setting.name for setting in fields(TrainingSettings)}


@dataclass(frozen=True)
class JobRequest:
    """A job and how to run it: the device, its time budget, torch's threads, and where loose plugins live."""

    job: Job
    device: str
    timeout: float | None = None
    threads: int | None = None
    plugins_dir: str | None = None
    task_failure: str = ""  # why the task's data could not be built; the row is an error without training
    provenance: dict[str, str] = field(default_factory=dict)  # cell and task plugins (versions), code_version
    save_model: bool = False  # hand the trained model back in the outcome (--save-models)
    scratch_dir: str | None = None  # where an executor may put temporary files (the run folder's; None: the system's)
    precision: str = DEFAULT_PRECISION  # one of backends.PRECISIONS
    compile: bool = False  # train a torch.compile of the model


@dataclass
class JobOutcome:
    """A finished job: its runs.csv row, curve points, timing samples, the traceback behind an error row (the
    driver, the run folder's only writer, puts it into errors.log), its accuracy per slice, and the trained model
    when asked to keep it."""

    job: Job | None  # None for a row a resume kept from before (sinks hear of it; it did not run now)
    row: dict[str, Any]
    curve: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    failure_details: str = ""
    slices: list[dict[str, Any]] = field(default_factory=list)
    model: ModelState | None = None


def one_line_error(exc: BaseException) -> str:
    """'Type: message' on one line for a row; multi-line messages (torch's C++ frames) keep their first line, and
    errors.log gets the whole traceback."""
    try:
        lines = str(exc).strip().splitlines()
    except Exception as unprintable:  # a plugin's broken __str__ must not turn one failed row into a crashed run
        lines = [f"(its message could not be shown: {type(unprintable).__name__} in __str__)"]
    # A bare `assert` in a cell says nothing on its own: point to the traceback.
    return f"{type(exc).__name__}: {lines[0] if lines else 'raised without a message (errors.log shows where)'}"


def base_row(request: JobRequest, data: TaskData | None) -> dict[str, Any]:
    """The row fields known before training: the key (settings included), the device and the target capacity."""
    job = request.job
    return {**job.key_fields(), "device": request.device, "precision": request.precision,
            "epochs": job.settings["max_epochs"],
            "ceiling": None if data is None else data.ceiling, "chance": None if data is None else data.chance,
            "params_target": job.params_target,
            "cell_options": " ".join(f"{key}={value}" for key, value in job.cell_options),
            "recipe": _recipe_text(job), "lr_floor": _lr_floor(job), **request.provenance}


def _schedule(job: Job) -> Schedule:
    return Schedule(job.settings["schedule"], job.settings["warmup_steps"], job.lr_floor)


def _lr_floor(job: Job) -> float | None:
    """The floor a row's lr decayed to; blank for a schedule that does not decay."""
    return job.lr_floor if job.settings["schedule"] == "cosine" else None


def _job_recipe(job: Job) -> BlockRecipe | None:
    """The block recipe a job's model is shaped by (its preset, its knobs over it); None for other backbones."""
    if job.settings["backbone"] not in RECIPE_BACKBONES:
        return None
    return recipe(job.settings["preset"], **dict(job.backbone_options))


def _recipe_text(job: Job) -> str | None:
    """Every knob of a block row's recipe as 'key=value ...', so a row says how its model was built."""
    shaped = _job_recipe(job)
    return None if shaped is None else " ".join(f"{key}={value}" for key, value in shaped.settings().items())


def failed(request: JobRequest, data: TaskData | None, status: str, error: str, details: str = "") -> JobOutcome:
    """An outcome for a job that ended without results (its status and one-line error; details for the log)."""
    return JobOutcome(request.job, {**base_row(request, data), "status": status, "error": error},
                      failure_details=details)


def settled(request: JobRequest, data: TaskData | None) -> JobOutcome | None:
    """The outcome of a job that needs no training (skipped, or its task failed to build), else None."""
    if request.job.skip_reason:
        return JobOutcome(request.job, {**base_row(request, data), "threads": threads_in_use(), "status": "skipped",
                                        "error": request.job.skip_reason})
    if data is None:
        return failed(request, None, "error", request.task_failure)
    return None


def execute(request: JobRequest, data: TaskData | None, on_epoch: Callable[[EpochRecord], None] | None = None,
            on_train_start: Callable[[], None] | None = None) -> JobOutcome:
    """Train and measure one job; any failure becomes the row's status and error, never an exception.
    `on_train_start` is called once the session is built, as training starts."""
    done = settled(request, data)
    if done is not None:
        return done
    job = request.job
    row = {**base_row(request, data), "threads": threads_in_use()}
    try:
        cell = get_registry(request.plugins_dir).cell(job.cell).with_options(job.cell_kwargs)
        config = CellConfig(len(data.vocab), job.hidden_size, job.num_layers, job.bidirectional,
                            longest_sequence(data))
        settings = TrainingSettings(seed=job.seed, device=request.device, precision=request.precision,
                                    compile=request.compile,
                                    **{name: value for name, value in job.settings.items() if name in TRAINED})
        with PeakMemory(request.device) as peak:
            session = open_session(cell, config, data, settings, job.settings["backbone"], _job_recipe(job))
            row.update(params=session.param_count, params_mixer=session.mixer_param_count,
                       compile_seconds=session.compile_seconds)
            if on_train_start is not None:
                on_train_start()
            measured = measure(session, job.settings["max_epochs"], request.timeout, job.target, on_epoch,
                               task_slicing(data), _schedule(job),
                               job.target if job.early_stop else None)
        row.update(measured.fields, peak_memory_mb=peak.mib)
        model = None
        if row["status"] == "ok":
            row["state_size"] = session.state_size()  # a forward pass: after training, not where --timeout can't reach
            row["prediction"] = prediction_text(session, data)
            if request.save_model:
                model = model_state(session, data, {**job.key_fields(), "cell_options": job.cell_kwargs})
    except KeyboardInterrupt:  # Ctrl-C and SIGTERM (RunInterrupted) stop the run
        raise
    except BaseException as exc:  # a failing cell (even sys.exit or GeneratorExit) is recorded; the run goes on
        row.update(status="error", error=one_line_error(exc))
        return JobOutcome(job, row, failure_details=traceback.format_exc())
    return JobOutcome(job, row, measured.curve, measured.samples, model=model, slices=measured.slices)
