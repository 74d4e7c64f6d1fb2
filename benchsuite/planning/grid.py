"""The grid of training runs: tasks x cells x layers x directions x seeds, hyperparameters resolved, skips explained."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..backends import BACKEND_DEVICES
from ..errors import BenchInputError
from ..results.schema import RowKey, row_key
from ..specs import CellConfig, CellSpec
from .cells import constraint_refusal
from .defaults import SUITE_DEFAULTS
from .options import RunOptions
from .parsers import FULL_BATCH

# The default target is this share of the task's ceiling (of 1.0 where the task states none).
TARGET_SHARE = 0.99
CAUSAL_BIDIRECTIONAL = "bidirectional variant on a causal task would read the character it must predict"



@dataclass(frozen=True)
class Job:
    """One training run to perform (or to record as skipped, with the reason). Cell and task are named, not held,
    so a job pickles and any executor can ship it; the worker resolves the names in its own registry."""

    task: str
    cell: str
    backend: str
    num_layers: int
    bidirectional: bool
    hidden_size: int
    seed: int
    epochs: int
    lr: float
    batch_size: int | None = None  # None: full batch
    skip_reason: str = ""
    target: float | None = None  # the accuracy for time-to-target
    clip: float | None = None  # the largest gradient norm; None: no clipping
    weight_decay: float = 0.0  # decoupled weight decay (AdamW); 0: plain Adam
    cell_options: tuple[tuple[str, Any], ...] = ()  # --cell-opt values for this cell, typed

    @property
    def cell_kwargs(self) -> dict[str, Any]:
        return dict(self.cell_options)

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def key_fields(self) -> dict[str, Any]:
        """The row key's columns and values (see results/schema.py)."""
        return {"task": self.task, "cell": self.cell, "backend": self.backend, "num_layers": self.num_layers,
                "bidirectional": self.bidirectional, "hidden_size": self.hidden_size, "seed": self.seed}

    @property
    def key(self) -> RowKey:
        return row_key(self.key_fields())

def resolve_target(requested: float | None, ceiling: float | None) -> float:
    """The accuracy a run must reach: `--target` when given, else 0.99 x the ceiling (or 0.99)."""
    if requested is not None:
        return requested
    return TARGET_SHARE * (1.0 if ceiling is None else ceiling)


def resolve_hyperparameters(options: RunOptions, task_defaults: Mapping[str, Any],
                            cell_defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Command line first, then the cell's defaults, then the task's, then the suite's (defaults.PRECEDENCE)."""
    chosen = {"hidden_size": options.hidden, "epochs": options.epochs, "lr": options.lr,
              "batch_size": options.batch_size, "clip": options.clip, "weight_decay": options.weight_decay}
    defaults = {**SUITE_DEFAULTS, **task_defaults, **(cell_defaults or {})}
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
              cells: Iterable[CellSpec], device: str, ceiling: float | None = None,
              shape: tuple[int, int | None] | None = None,
              cell_options: Mapping[str, Mapping[str, Any]] | None = None) -> list[Job]:
    """Every job for one task, in a stable order: cell, layers, direction, seed.

    `shape` is the task's (vocabulary size, longest sequence), known once its data is built: variants a cell's
    constraint refuses are skipped with its reason. `cell_options` are each cell's converted --cell-opt values.
    """
    target = resolve_target(options.target, ceiling)
    directions = options.directions or ((False,) if causal else (False, True))
    jobs = []
    for cell in cells:
        hyper = resolve_hyperparameters(options, defaults, cell.defaults)
        extra = dict((cell_options or {}).get(cell.name, {}))
        for layers in options.layers or (hyper["num_layers"],):
            for bidirectional in directions:
                skip = _skip_reason(cell, bidirectional, causal, device)
                if not skip and shape is not None:
                    config = CellConfig(shape[0], hyper["hidden_size"], layers, bidirectional, shape[1])
                    skip = constraint_refusal(cell, config, extra)
                jobs += [Job(task, cell.name, cell.backend, layers, bidirectional, hyper["hidden_size"], seed,
                             hyper["epochs"], hyper["lr"], hyper["batch_size"], skip, target, hyper["clip"],
                             hyper["weight_decay"], tuple(sorted(extra.items())))
                         for seed in options.seeds]
    return jobs


def check_task_options_target(options: RunOptions, known_tasks: Iterable[str]) -> None:
    """`--task-opt` must name a task of this run."""
    selected = set(options.tasks)
    for task in options.task_opts:
        if task not in selected:
            raise BenchInputError(f"--task-opt {task}.*: task {task!r} is not in --tasks "
                                  f"({', '.join(options.tasks)})"
                                  + ("" if task in set(known_tasks) else f"; known tasks: {', '.join(sorted(known_tasks))}"))
