"""What the user asked for (`RunOptions`), how it is recorded in meta.json, and how a resumed run's options are
chosen.

Resume policy: a resumed run reuses the options recorded in the run's meta.json (a sweep file's included, resolved),
so `--resume RUN_DIR` needs nothing else. Options given again override them when they only select rows or steer
execution (tasks, cells, layers, directions, the swept hyperparameters hidden, epochs, lr, batch size, clip and weight
decay, which are part of every row's key, --params, seeds, timeout, executor and its settings, fail-fast,
plugins-dir); rows new to the grid are run, rows already `ok` are kept, rows outside the (narrowed) grid are kept
whatever their status.
Naming an executor again (`--executor`, `--isolate`) replaces the recorded executor and its Ray settings as a whole.
A run that loaded plugin files needs --plugins-dir again, and one that used a Ray cluster --ray-address (or another
--executor): a resume never loads code nor reaches a cluster named only by meta.json, which anyone who can write the
folder can edit. Options that change what a row measures without showing in its key (task
and cell options, target, threads, the device) must stay as they were, or the table would mix incomparable rows:
changing them is bad input. `--out` does not apply: it is accepted only as the run folder's own
parent (the command repeated with --resume added).
"""
from __future__ import annotations

import dataclasses
import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import BenchInputError
from ..results.resume import read_meta
from .parsers import (check_target, parse_cell_options, parse_directions, parse_ints,
                      parse_names, parse_task_options, positive_int, positive_number)
from .sweepable import SWEPT, parse_grid

# Limits on values that would otherwise crash or hang the process rather than fail one row.
MAX_SEED = 2**32 - 1  # numpy's legacy seeding, the narrowest a backend accepts
MAX_LAYERS = 64  # a cell is built in the driver without --isolate, where nothing can stop a hung constructor
THREADS_PER_CPU = 4  # torch's thread pool crashes (even segfaults) far beyond the machine's cores


def max_threads() -> int:
    """The most threads `--threads` accepts on this machine."""
    return THREADS_PER_CPU * (os.cpu_count() or 1)


# Options that only the ray executor reads, and the executor's own choice: a resume that names an executor anew
# drops the recorded ones together (a run recorded with --isolate can be finished with --executor ray).
EXECUTOR_CHOICE = ("executor", "isolate", "workers", "ray_address", "gpus_per_job")
# Options whose change would make old and new rows incomparable although their keys match.
FIXED_ON_RESUME = {"task_opts": "--task-opt", "target": "--target", "threads": "--threads", "cell_opts": "--cell-opt"}
Grid = tuple[Any, ...] | None  # a swept hyperparameter's settings; None: the task's default


@dataclass(frozen=True)
class RunOptions:
    """What the user asked for, parsed and checked; None means "the task's default"."""

    tasks: tuple[str, ...]
    cells: tuple[str, ...] | None = None
    layers: tuple[int, ...] | None = None
    directions: tuple[bool, ...] | None = None
    hidden: Grid = None
    epochs: Grid = None
    lr: Grid = None
    batch_size: Grid = None  # ints and FULL_BATCH
    seeds: tuple[int, ...] = (0,)
    device: str = "auto"
    out: str = "results"
    task_opts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    plugins_dir: str | None = None
    timeout: float | None = None
    threads: int | None = None
    target: float | None = None
    executor: str = "inline"  # a name in execution.EXECUTORS (checked there); `--isolate` is "isolated"
    fail_fast: bool = False  # stop at the first row that is not ok or skipped
    params: int | None = None  # choose each variant's hidden size for about this many parameters
    clip: Grid = None  # largest gradient norms (None within: no clipping); None: the cell's or task's default
    weight_decay: Grid = None  # decoupled (AdamW) weight decays; None: the cell's or task's default
    cell_opts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    workers: int | None = None  # ray: jobs at once (local instance: its size; default one per core)
    ray_address: str | None = None  # ray: an existing cluster to use instead of a local instance
    gpus_per_job: float | None = None  # ray: each CUDA job's share of a GPU (default 1)
    save_models: bool = False  # keep each ok row's trained model under <run>/models/

    @classmethod
    def parse(cls, tasks: Any, cells: Any = None, layers: Any = None, directions: Any = None,
              hidden: Any = None, epochs: Any = None, lr: Any = None, batch_size: Any = None, seeds: Any = (0,),
              device: str = "auto", out: str = "results", task_opts: Any = (), plugins_dir: str | None = None,
              timeout: float | None = None, threads: int | None = None, target: float | None = None,
              isolate: bool = False, fail_fast: bool = False, executor: str | None = None, workers: int | None = None,
              ray_address: str | None = None, gpus_per_job: float | None = None, params: Any = None,
              save_models: bool = False, clip: Any = None, weight_decay: Any = None,
              cell_opts: Any = ()) -> "RunOptions":
        """Options as users give them (strings like 'a,b' or Python sequences) to checked values."""
        given = locals()
        grids = {swept.option: parse_grid(given[swept.option], swept) for swept in SWEPT}
        if params is not None and grids["hidden"] is not None:
            raise BenchInputError("--params chooses each variant's hidden size; give --params or --hidden, not both")
        return cls(
            tasks=parse_names(tasks, "--tasks"),
            cells=None if cells is None else parse_names(cells, "--cells"),
            layers=None if layers is None else parse_ints(layers, "--layers", minimum=1, maximum=MAX_LAYERS,
                                                              why="deeper stacks take too long to build"),
            directions=None if directions is None else parse_directions(directions),
            **grids,
            seeds=parse_ints(seeds, "--seeds", minimum=0, maximum=MAX_SEED, why="what every backend's seeding accepts"),
            device=device,
            out=str(out),
            task_opts=_dotted(task_opts, parse_task_options),
            plugins_dir=plugins_dir,
            timeout=None if timeout is None else positive_number(timeout, "--timeout"),
            threads=None if threads is None else positive_int(threads, "--threads", maximum=max_threads(),
                                                                 why=f"{THREADS_PER_CPU} per CPU of this machine"),
            target=None if target is None else check_target(positive_number(target, "--target")),
            executor=parse_executor(executor, bool(isolate), workers, ray_address, gpus_per_job),
            fail_fast=bool(fail_fast),
            params=None if params is None else positive_int(params, "--params"),
            cell_opts=_dotted(cell_opts, parse_cell_options),
            workers=None if workers is None else positive_int(workers, "--workers"),
            ray_address=ray_address or None,
            gpus_per_job=None if gpus_per_job is None else positive_number(gpus_per_job, "--gpus-per-job"),
            save_models=bool(save_models),
        )

    @property
    def isolate(self) -> bool:
        """True for the isolated executor (what `--isolate` asks for)."""
        return self.executor == "isolated"


def parse_executor(name: str | None, isolate: bool, *ray_settings: Any) -> str:
    """The executor's name from `--executor` and the `--isolate` alias; Ray settings need the ray executor."""
    if isolate and name not in (None, "isolated"):
        raise BenchInputError(f"--isolate is --executor isolated; it cannot be combined with --executor {name}")
    chosen = "isolated" if isolate else name or "inline"
    given = [flag for flag, value in zip(("--workers", "--ray-address", "--gpus-per-job"), ray_settings)
             if value is not None]
    if given and chosen != "ray":
        raise BenchInputError(f"{', '.join(given)}: only for --executor ray (this run uses {chosen})")
    return chosen


def _dotted(value: Any, parse: Callable[[Any], dict[str, dict[str, str]]]) -> dict[str, dict[str, str]]:
    """Task or cell options given as {name: {key: value}} (Python, meta.json) or as NAME.KEY=VALUE pairs."""
    if isinstance(value, Mapping):
        return {name: {str(key): str(raw) for key, raw in opts.items()} for name, opts in value.items()}
    return parse(value)


def options_record(options: RunOptions) -> dict[str, Any]:
    """The options as JSON-ready values that `RunOptions.parse` reads back to the same options."""
    record = dataclasses.asdict(options)
    if options.directions is not None:
        record["directions"] = ["bi" if bidirectional else "uni" for bidirectional in options.directions]
    return record


def options_from_record(record: Mapping[str, Any]) -> RunOptions:
    """`RunOptions` from what `options_record` wrote (fields this version does not know are ignored)."""
    accepted = inspect.signature(RunOptions.parse).parameters
    return RunOptions.parse(**{name: value for name, value in record.items() if name in accepted})


def resume_options(run_dir: str | Path, given: Mapping[str, Any]) -> RunOptions:
    """The interrupted run's own options with the `given` ones (as typed, unparsed) on top; see the policy above."""
    run_dir = Path(run_dir)
    if "out" in given:  # pressing up and adding --resume repeats --out: fine when it names the run's own parent
        if Path(given["out"]).resolve() != run_dir.resolve().parent:
            raise BenchInputError(f"--out {given['out']} does not apply with --resume: the run is finished in "
                                  f"{run_dir} itself, under {run_dir.parent}")
        given = {name: value for name, value in given.items() if name != "out"}
    stored = read_meta(run_dir)["options"]
    if stored.get("plugins_dir") is not None and "plugins_dir" not in given:
        raise BenchInputError(f"--resume {run_dir}: the run loaded plugin files from {stored['plugins_dir']!r}. "
                              "A resume runs no code named only by the run's meta.json: pass --plugins-dir "
                              f"{stored['plugins_dir']} again if you trust that folder")
    stored = {**stored, "plugins_dir": None}
    if stored.get("ray_address") and not any(name in given for name in ("executor", "isolate", "ray_address")):
        raise BenchInputError(f"--resume {run_dir}: the run used the Ray cluster at {stored['ray_address']}. A "
                              "resume connects to no cluster named only by the run's meta.json: pass --ray-address "
                              f"{stored['ray_address']} again if you trust that cluster, or choose an --executor")
    if any(name in given for name in ("executor", "isolate")):
        stored = {name: value for name, value in stored.items() if name not in EXECUTOR_CHOICE}
    original, merged = options_from_record(stored), options_from_record({**stored, **given})
    for name, flag in FIXED_ON_RESUME.items():
        if getattr(merged, name) != getattr(original, name):
            raise BenchInputError(f"--resume {run_dir}: {flag} {_shown(getattr(merged, name))} differs from the run's "
                                  f"own {_shown(getattr(original, name))}; rows measured that way would not compare "
                                  "with the rows already there, so start a new run instead")
    return merged

def _shown(value: Any) -> str:
    return "unset (the default)" if value in (None, {}) else str(value)
