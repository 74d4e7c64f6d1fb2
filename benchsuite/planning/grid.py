"""The grid of training runs: tasks x cells x layers x directions x seeds, hyperparameters resolved, skips explained."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ..backends import BACKEND_DEVICES
from ..errors import BenchInputError
from .parsers import (FULL_BATCH, parse_batch_size, parse_directions, parse_ints, parse_names,
                      parse_task_options, positive_int, positive_number)
from ..specs import CellSpec
from ..measurement.target import check_target, resolve_target

# Used when neither the command line nor the task sets a hyperparameter.
# A batch_size of None is full batch, as in the notebook.
SUITE_DEFAULTS = {"hidden_size": 32, "num_layers": 1, "epochs": 100, "lr": 0.01, "batch_size": None}
CAUSAL_BIDIRECTIONAL = "bidirectional variant on a causal task would read the character it must predict"


@dataclass(frozen=True)
class RunOptions:
    """What the user asked for, parsed and checked; None means "the task's default"."""

    tasks: tuple[str, ...]
    cells: tuple[str, ...] | None = None
    layers: tuple[int, ...] | None = None
    directions: tuple[bool, ...] | None = None
    hidden: int | None = None
    epochs: int | None = None
    lr: float | None = None
    batch_size: int | str | None = None  # an int, FULL_BATCH, or None for the task's default
    seeds: tuple[int, ...] = (0,)
    device: str = "auto"
    out: str = "results"
    task_opts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    plugins_dir: str | None = None
    timeout: float | None = None
    threads: int | None = None
    target: float | None = None
    isolate: bool = False  # each training run in a child process, so a crash costs one row
    fail_fast: bool = False  # stop at the first row that is not ok or skipped

    @classmethod
    def parse(cls, tasks: Any, cells: Any = None, layers: Any = None, directions: Any = None,
              hidden: int | None = None, epochs: int | None = None, lr: float | None = None,
              batch_size: Any = None, seeds: Any = (0,), device: str = "auto", out: str = "results",
              task_opts: Any = (), plugins_dir: str | None = None, timeout: float | None = None,
              threads: int | None = None, target: float | None = None, isolate: bool = False,
              fail_fast: bool = False) -> "RunOptions":
        """Options as users give them (strings like 'a,b' or Python sequences) to checked values."""
        if isinstance(task_opts, Mapping):
            parsed_task_opts = {task: dict(opts) for task, opts in task_opts.items()}
        else:
            parsed_task_opts = parse_task_options(task_opts)
        return cls(
            tasks=parse_names(tasks, "--tasks"),
            cells=None if cells is None else parse_names(cells, "--cells"),
            layers=None if layers is None else parse_ints(layers, "--layers", minimum=1),
            directions=None if directions is None else parse_directions(directions),
            hidden=None if hidden is None else positive_int(hidden, "--hidden"),
            epochs=None if epochs is None else positive_int(epochs, "--epochs"),
            lr=None if lr is None else positive_number(lr, "--lr"),
            batch_size=parse_batch_size(batch_size),
            seeds=parse_ints(seeds, "--seeds", minimum=0),
            device=device,
            out=str(out),
            task_opts=parsed_task_opts,
            plugins_dir=plugins_dir,
            timeout=None if timeout is None else positive_number(timeout, "--timeout"),
            threads=None if threads is None else positive_int(threads, "--threads"),
            target=None if target is None else check_target(positive_number(target, "--target")),
            isolate=bool(isolate),
            fail_fast=bool(fail_fast),
        )


@dataclass(frozen=True)
class Job:
    """One training run to perform (or to record as skipped, with the reason)."""

    task: str
    cell: CellSpec
    num_layers: int
    bidirectional: bool
    hidden_size: int
    seed: int
    epochs: int
    lr: float
    batch_size: int | None = None  # None: full batch
    skip_reason: str = ""
    target: float | None = None  # the accuracy for time-to-target

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1


def resolve_hyperparameters(options: RunOptions, task_defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Command line first, then the task's defaults, then the suite's."""
    chosen = {"hidden_size": options.hidden, "epochs": options.epochs, "lr": options.lr,
              "batch_size": options.batch_size}
    defaults = {**SUITE_DEFAULTS, **task_defaults}
    hyper = {key: defaults[key] if chosen.get(key) is None else chosen[key] for key in SUITE_DEFAULTS}
    if hyper["batch_size"] == FULL_BATCH:
        hyper["batch_size"] = None
    return hyper


def _skip_reason(cell: CellSpec, bidirectional: bool, causal: bool, device: str) -> str:
    if bidirectional and causal:
        return CAUSAL_BIDIRECTIONAL
    supported = BACKEND_DEVICES.get(cell.backend)
    if supported is not None and device not in supported:
        return f"backend {cell.backend!r} runs on {', '.join(supported)} only, not {device}"
    return ""


def plan_task(options: RunOptions, task: str, causal: bool, defaults: Mapping[str, Any],
              cells: Iterable[CellSpec], device: str, ceiling: float | None = None) -> list[Job]:
    """Every job for one task, in a stable order: cell, layers, direction, seed."""
    hyper = resolve_hyperparameters(options, defaults)
    target = resolve_target(options.target, ceiling)
    layer_counts = options.layers or (hyper["num_layers"],)
    directions = options.directions or ((False,) if causal else (False, True))
    return [
        Job(task, cell, layers, bidirectional, hyper["hidden_size"], seed, hyper["epochs"], hyper["lr"],
            hyper["batch_size"], _skip_reason(cell, bidirectional, causal, device), target)
        for cell in cells
        for layers in layer_counts
        for bidirectional in directions
        for seed in options.seeds
    ]


def check_task_options_target(options: RunOptions, known_tasks: Iterable[str]) -> None:
    """`--task-opt` must name a task of this run."""
    selected = set(options.tasks)
    for task in options.task_opts:
        if task not in selected:
            raise BenchInputError(f"--task-opt {task}.*: task {task!r} is not in --tasks "
                                  f"({', '.join(options.tasks)})"
                                  + ("" if task in set(known_tasks) else f"; known tasks: {', '.join(sorted(known_tasks))}"))
