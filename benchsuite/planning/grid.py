"""The grid of training runs: tasks x cells x layers x directions x swept hyperparameters x seeds, hyperparameters
resolved, skips explained; and the device the run uses, decided once before anything trains."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

from ..backbones import RECIPE_BACKBONES, unsupported
from ..backends import BACKEND_DEVICES
from ..errors import BenchInputError
from ..results.schema import ARCHITECTURE_COLUMNS, NEUTRAL_SETTINGS, SETTING_COLUMNS, RowKey, row_key
from ..specs import CellConfig, CellSpec
from .cells import constraint_refusal
from .options import DEVICE_CHOICES, SUITE_DEFAULTS, SWEPT, RunOptions
from .parsers import FULL_BATCH

# Every job of a run is planned (and held) before the first trains: a larger grid is refused, not multiplied out.
MAX_GRID_ROWS = 100_000
# The default target is this share of the task's ceiling (of 1.0 where the task states none).
TARGET_SHARE = 0.99
CAUSAL_BIDIRECTIONAL = "bidirectional variant on a causal task would read the character it must predict"


class Settings(Mapping[str, Any]):
    """A job's swept training settings by runs.csv column (results/schema.SETTING_COLUMNS, every one of them): read
    like a dict, and immutable, hashable and picklable like the job that carries it."""

    __slots__ = ("_pairs",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        # A setting added later may be left out where it has a neutral value (older callers name only theirs).
        values = {**{column: NEUTRAL_SETTINGS[column] for column in NEUTRAL_SETTINGS if column not in values}, **values}
        if set(values) != set(SETTING_COLUMNS):
            raise ValueError(f"settings must name exactly {', '.join(SETTING_COLUMNS)}; got {', '.join(values)}")
        object.__setattr__(self, "_pairs", tuple((column, values[column]) for column in SETTING_COLUMNS))

    def __getitem__(self, column: str) -> Any:
        for name, value in self._pairs:
            if name == column:
                return value
        raise KeyError(column)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __hash__(self) -> int:
        return hash(self._pairs)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Settings are immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return Settings, (dict(self._pairs),)

    def __repr__(self) -> str:
        return f"Settings({dict(self._pairs)!r})"


@dataclass(frozen=True, kw_only=True)
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
    settings: Settings  # the swept training settings (lr, batch size, epochs to train, ...) by runs.csv column
    skip_reason: str = ""
    target: float | None = None  # the accuracy for time-to-target
    params_target: int | None = None  # --params: the hidden size was chosen for about this many parameters
    cell_options: tuple[tuple[str, Any], ...] = ()  # --cell-opt values for this cell, typed
    backbone_options: tuple[tuple[str, Any], ...] = ()  # --backbone-opt knobs of the block recipe, typed
    early_stop: bool = False  # stop once validation accuracy reaches `target`
    lr_floor: float = 0.0  # a cosine schedule's last lr, as a fraction of the set lr

    def __post_init__(self) -> None:
        if not isinstance(self.settings, Settings):
            object.__setattr__(self, "settings", Settings(self.settings))

    @property
    def cell_kwargs(self) -> dict[str, Any]:
        return dict(self.cell_options)

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def key_fields(self) -> dict[str, Any]:
        """The row key's columns and values (see results/schema.py)."""
        return {"task": self.task, **{column: getattr(self, column) for column in ARCHITECTURE_COLUMNS},
                **self.settings, "seed": self.seed}

    @property
    def key(self) -> RowKey:
        return row_key(self.key_fields())


def resolve_device(requested: str) -> str:
    """"cpu", "cuda" or "auto" to "cpu" or "cuda"; CUDA asked for but absent is a bad-input error."""
    import torch

    if requested not in DEVICE_CHOICES:
        raise BenchInputError(f"--device {requested!r}: expected one of {', '.join(DEVICE_CHOICES)}")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise BenchInputError(
            f"--device cuda: CUDA is not available here (torch {torch.__version__}, "
            f"built for CUDA {torch.version.cuda or 'none'}); use --device cpu or --device auto"
        )
    return requested


def device_name(device: str) -> str:
    """A human name for the device, for meta.json: the GPU's model on CUDA."""
    if device == "cuda":
        import torch

        return torch.cuda.get_device_name(0)
    return "cpu"


def resolve_target(requested: float | None, ceiling: float | None) -> float:
    """The accuracy a run must reach: `--target` when given, else 0.99 x the ceiling (or 0.99)."""
    if requested is not None:
        return requested
    return TARGET_SHARE * (1.0 if ceiling is None else ceiling)


def hyperparameter_grid(options: RunOptions, task_defaults: Mapping[str, Any], train_rows: int | None = None,
                        cell_defaults: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every combination of the swept hyperparameters by runs.csv column, each given on the command line, else the
    cell's default, else the task's, else the suite's (options.PRECEDENCE).
    A batch size is resolved to the rows per step when the training split's size is known, so 'full' and any size
    beyond the split are one setting."""
    defaults = {**SUITE_DEFAULTS, **task_defaults, **(cell_defaults or {})}
    axes = [getattr(options, name) or (defaults[spec.suite_default[0]],) for name, spec in SWEPT.items()]
    grid = []
    for values in itertools.product(*axes):
        hyper = {spec.column: value for spec, value in zip(SWEPT.values(), values)}
        batch = None if hyper["batch_size"] == FULL_BATCH else hyper["batch_size"]
        hyper["batch_size"] = batch if train_rows is None else min(batch or train_rows, train_rows)
        if hyper["backbone"] not in RECIPE_BACKBONES:  # a preset shapes only a block recipe: one stack setting
            hyper["preset"] = None
        grid.append(hyper)
    return list({tuple(hyper.values()): hyper for hyper in grid}.values())  # resolved batch sizes may coincide


# --params: the hidden size of a cell's variant (layers, direction) under a backbone (name, preset)
HiddenFor = Callable[[CellSpec, int, bool, str, str | None], int]


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
                for hyper in grid:
                    refusal = skip or unsupported(cell, hyper["backbone"])
                    hidden = hyper["hidden_size"] if hidden_for is None or refusal else hidden_for(
                        cell, layers, bidirectional, hyper["backbone"], hyper["preset"])
                    if not refusal and shape is not None:
                        refusal = constraint_refusal(cell, CellConfig(shape[0], hidden, layers, bidirectional,
                                                                      shape[1]), extra)
                    settings = Settings({column: value for column, value in hyper.items()
                                         if column in SETTING_COLUMNS})
                    jobs += [Job(task=task, cell=cell.name, backend=cell.backend, num_layers=layers,
                                 bidirectional=bidirectional, hidden_size=hidden, seed=seed, settings=settings,
                                 skip_reason=refusal, target=target, params_target=options.params,
                                 cell_options=tuple(sorted(extra.items())),
                                 backbone_options=tuple(sorted(options.backbone_opts.items())),
                                 early_stop=options.early_stop, lr_floor=options.lr_floor)
                             for seed in options.seeds]
    return jobs


def check_grid_size(options: RunOptions, cells: int, causal: Mapping[str, bool]) -> None:
    """Refuse a grid of more than MAX_GRID_ROWS rows, counted from the lengths of its lists without multiplying it
    out; `causal` is each task's flag (a causal task plans one direction unless --directions says otherwise)."""
    task_directions = sum(len(options.directions) if options.directions else (1 if causal[task] else 2)
                          for task in options.tasks)
    factors = {"--tasks x --directions": task_directions, "--cells": cells, "--layers": len(options.layers or (1,)),
               **{spec.flag_name: len(getattr(options, name) or (None,)) for name, spec in SWEPT.items()},
               "--seeds": len(options.seeds)}
    rows = math.prod(factors.values())
    if rows > MAX_GRID_ROWS:
        shown = " x ".join(f"{flag} {count:,}" for flag, count in factors.items() if count > 1)
        raise BenchInputError(f"the grid has {rows:,} rows ({shown}), more than the {MAX_GRID_ROWS:,} one run plans "
                              "(every row is planned before the first trains); split the sweep into several runs "
                              "or shorten its longest lists")


def check_task_options_target(options: RunOptions, known_tasks: Iterable[str]) -> None:
    """`--task-opt` must name a task of this run."""
    selected = set(options.tasks)
    for task in options.task_opts:
        if task not in selected:
            known = "" if task in set(known_tasks) else f"; known tasks: {', '.join(sorted(known_tasks))}"
            raise BenchInputError(f"--task-opt {task}.*: task {task!r} is not in --tasks ({', '.join(options.tasks)})"
                                  f"{known}")
