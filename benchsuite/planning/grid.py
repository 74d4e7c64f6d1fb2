"""The grid of training runs: tasks x cells x layers x directions x swept hyperparameters x seeds, hyperparameters
resolved, skips explained."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from ..backends import BACKEND_DEVICES
from ..errors import BenchInputError
from ..results.schema import ARCHITECTURE_COLUMNS, RowKey, row_key
from ..specs import CellConfig, CellSpec
from .cells import constraint_refusal
from .defaults import SUITE_DEFAULTS
from .options import RunOptions
from .parsers import FULL_BATCH
from .sweepable import SWEPT

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
    batch_size: int | None = None  # rows per step (None: full batch, when the task's data is unknown)
    skip_reason: str = ""
    target: float | None = None  # the accuracy for time-to-target
    params_target: int | None = None  # --params: the hidden size was chosen for about this many parameters
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
        return {"task": self.task, **{column: getattr(self, column) for column in ARCHITECTURE_COLUMNS},
                **{swept.column: getattr(self, swept.hyper) for swept in SWEPT}, "seed": self.seed}

    @property
    def key(self) -> RowKey:
        return row_key(self.key_fields())

def resolve_target(requested: float | None, ceiling: float | None) -> float:
    """The accuracy a run must reach: `--target` when given, else 0.99 x the ceiling (or 0.99)."""
    if requested is not None:
        return requested
    return TARGET_SHARE * (1.0 if ceiling is None else ceiling)


def hyperparameter_grid(options: RunOptions, task_defaults: Mapping[str, Any], train_rows: int | None = None,
                        cell_defaults: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every combination of the swept hyperparameters, each given on the command line, else the cell's default,
    else the task's, else the suite's (defaults.PRECEDENCE).
    A batch size is resolved to the rows per step when the training split's size is known, so 'full' and any size
    beyond the split are one setting."""
    defaults = {**SUITE_DEFAULTS, **task_defaults, **(cell_defaults or {})}
    axes = [getattr(options, swept.option) or (defaults[swept.hyper],) for swept in SWEPT]
    grid = []
    for values in itertools.product(*axes):
        hyper = {swept.hyper: value for swept, value in zip(SWEPT, values)}
        batch = None if hyper["batch_size"] == FULL_BATCH else hyper["batch_size"]
        hyper["batch_size"] = batch if train_rows is None else min(batch or train_rows, train_rows)
        grid.append(hyper)
    return list({tuple(hyper.values()): hyper for hyper in grid}.values())  # resolved batch sizes may coincide


HiddenFor = Callable[[CellSpec, int, bool], int]  # --params: the hidden size of a cell's variant (layers, direction)


def _skip_reason(cell: CellSpec, bidirectional: bool, causal: bool, device: str) -> str:
    if bidirectional and causal:
        return CAUSAL_BIDIRECTIONAL
    supported = BACKEND_DEVICES.get(cell.backend)
    if supported is not None and device not in supported:
        return f"backend {cell.backend!r} runs on {', '.join(supported)} only, not {device}"
    return ""


def plan_task(options: RunOptions, task: str, causal: bool, defaults: Mapping[str, Any],
              cells: Iterable[CellSpec], device: str, ceiling: float | None = None, train_rows: int | None = None,
              hidden_for: HiddenFor | None = None, shape: tuple[int, int | None] | None = None,
              cell_options: Mapping[str, Mapping[str, Any]] | None = None) -> list[Job]:
    """Every job for one task, in a stable order: cell, layers, direction, hyperparameters, seed.

    With `hidden_for` (--params) each variant's hidden size is its answer, not the grid's. `shape` is the task's
    (vocabulary size, longest sequence), known once its data is built: variants a cell's constraint refuses are
    skipped with its reason. `cell_options` are each cell's converted --cell-opt values.
    """
    target = resolve_target(options.target, ceiling)
    layer_counts = options.layers or ({**SUITE_DEFAULTS, **defaults}["num_layers"],)
    directions = options.directions or ((False,) if causal else (False, True))
    jobs = []
    for cell in cells:
        grid = hyperparameter_grid(options, defaults, train_rows, cell.defaults)
        extra = dict((cell_options or {}).get(cell.name, {}))
        for layers in layer_counts:
            for bidirectional in directions:
                skip = _skip_reason(cell, bidirectional, causal, device)
                matched = None if hidden_for is None or skip else hidden_for(cell, layers, bidirectional)
                for hyper in grid:
                    hidden = hyper["hidden_size"] if matched is None else matched
                    refusal = skip
                    if not refusal and shape is not None:
                        refusal = constraint_refusal(cell, CellConfig(shape[0], hidden, layers, bidirectional,
                                                                      shape[1]), extra)
                    jobs += [Job(task, cell.name, cell.backend, layers, bidirectional, hidden, seed, hyper["epochs"],
                                 hyper["lr"], hyper["batch_size"], refusal, target, options.params, hyper["clip"],
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
