"""The data types plugins exchange with the core: what a cell or task is, and what a task yields."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence, runtime_checkable

# What a cell or task name may be: the command line separates names with commas and task options with dots and
# '=', reports print names into tables and CSV files. A letter or digit first, then letters, digits, '_' or '-'.
NAME_RULE = "a letter or digit, then letters, digits, '_' or '-' (at most 64 characters)"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def valid_name(name: object) -> bool:
    """Whether `name` is a usable cell or task name (see NAME_RULE)."""
    return isinstance(name, str) and NAME_PATTERN.fullmatch(name) is not None


def qualified_name(plugin: str, name: str) -> str | None:
    """`PLUGIN:NAME`: what a plugin's cell or task is called when an earlier plugin took NAME (the registry's
    only names with a colon; a plugin cannot register one). None when the plugin's own name breaks NAME_RULE."""
    return f"{plugin}:{name}" if valid_name(plugin) else None


# Hyperparameters a task may suggest through `defaults`; the command line overrides them.
# A `batch_size` of None means full batch: one step per epoch over the whole training split.
HYPERPARAMETERS = ("hidden_size", "num_layers", "epochs", "lr", "batch_size", "steps")
# Optimizer settings a cell may suggest through `CellSpec.defaults`: the learning rate, the largest gradient norm
# (None: no clipping) and decoupled weight decay (AdamW's; 0 is plain Adam).
# Precedence, lowest first: the suite's defaults, the task's, the cell's, the command line.
CELL_HYPERPARAMETERS = ("lr", "clip", "weight_decay")
# What a cell's layer is under the `block` backbone: a sequence mixer the block wraps, or a whole block itself.
CELL_ROLES = ("mixer", "block")
# What may pick a variant's best setting (`TaskSpec.selection_metric`), on validation where the task has it: the
# accuracy (higher is better), or bits per character (lower is better; language modelling's figure).
SELECTION_METRICS = ("accuracy", "bpc")
DEFAULT_SELECTION_METRIC = "accuracy"


@dataclass(frozen=True)
class CellConfig:
    """The shape of one recurrent layer (or stack) a cell plugin is asked to build."""

    input_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    max_seq_len: int | None = None  # the longest sequence the layer will read (the task's T); None if unknown
    # Built as the sequence mixer of a `block` backbone: input and output width d (input_size == hidden_size),
    # inside a pre-norm residual block that supplies the norms, the channel MLP, embedding and head, so the layer
    # adds none of its own (the built-in transformer becomes bare causal attention, lru drops its GLU).
    mixer: bool = False
    # For a mixer that attends: the share of attention weights dropped while training (the block recipe's
    # attention_dropout, Zoology's 0.1); cells without attention ignore it.
    attention_dropout: float = 0.0

    @property
    def directions(self) -> int:
        """Passes over the sequence per layer: 2 when bidirectional (forward and reverse), else 1."""
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Features per step of the layer's output: every direction's hidden state, concatenated."""
        return self.hidden_size * self.directions


@dataclass(frozen=True)
class CellSpec:
    """A recurrent cell offered by a plugin.

    `build(config, **options)` returns the layer for `backend` ("torch" or "numpy"); its keyword
    parameters after `config` are the cell's options, set with `--cell-opt NAME.KEY=VALUE` and typed
    from their defaults. With `native_variants=False` it is only ever asked for one unidirectional
    layer and the suite composes deep and bidirectional variants itself.

    Additions to the contract: `defaults` suggests optimizer settings for this cell (keys in
    CELL_HYPERPARAMETERS), above the task's defaults and below the command line. `constraint(config,
    **options)` returns "" when the cell can be built for the variant `config`, else the reason (e.g.
    "hidden_size must be a multiple of heads (4)"); the planner skips variants it refuses, saying which
    hidden sizes fit.

    Under the `block` backbone (an addition): with `role="mixer"` (the default) the layer is built with
    `CellConfig(mixer=True)` as one block's sequence mixer; `role="block"` says the layer is already a whole block
    (its own norms, MLP and residuals), so the backbone stacks it bare between the embedding and the head.
    `needs_positions=True` says the mixer reads no order by itself (attention): the backbone adds positions to the
    embedding, once. A mixer's submodule named `out_proj` is its residual-branch output, the one the scaled
    initialisation shrinks by 1/sqrt(2 x blocks).
    """

    name: str
    backend: str
    build: Callable[..., Any]
    description: str = ""
    native_variants: bool = False
    defaults: Mapping[str, Any] = field(default_factory=dict)
    constraint: Callable[..., str] | None = None
    role: str = "mixer"
    needs_positions: bool = False

    def with_options(self, options: Mapping[str, Any]) -> CellSpec:
        """This cell with `options` bound into `build`, so backends and composition call `build(config)` alone."""
        return replace(self, build=partial(self.build, **options)) if options else self

    def __post_init__(self) -> None:
        if self.role not in CELL_ROLES:
            raise ValueError(f"cell {self.name!r}: role must be one of {', '.join(CELL_ROLES)}, got {self.role!r}")
        unknown = sorted(set(self.defaults) - set(CELL_HYPERPARAMETERS))
        if unknown:
            raise ValueError(f"cell {self.name!r}: defaults name {', '.join(unknown)}; a cell may suggest "
                             f"{', '.join(CELL_HYPERPARAMETERS)} (the task sets the rest)")
        for key, value in self.defaults.items():
            if key == "clip" and value is None:  # explicitly: no clipping
                continue
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            zero_allowed = key == "weight_decay"
            if not (number and (value >= 0 if zero_allowed else value > 0)):
                raise ValueError(f"cell {self.name!r}: defaults[{key!r}] must be a finite number "
                                 f"{'at or above' if zero_allowed else 'above'} 0, got {value!r}")


# A task's splits, named as TaskData's fields are: training data always, the held-out ones where it has them.
SPLITS = ("train", "valid", "test")
HELD_OUT = SPLITS[1:]


@dataclass(frozen=True)
class TaskData:
    """One task's data: integer arrays of shape (N, T) indexing `vocab`; negative targets are ignored.

    Additions to the contract, all optional: a test split (`x_test`, `y_test`); one integer per valid or test
    row (`valid_slices`, `test_slices`) naming the slice it belongs to, `slice_name` saying what that value is
    (e.g. "length"), for accuracy per slice; `chance`, the accuracy guessing reaches; `sample_batch(rng,
    batch_size) -> (x, y)`, for a task that draws fresh training data: with `--steps N` each epoch trains on N
    batches drawn from it instead of on `x_train` (which then only gives the shapes a model is built for).
    """

    vocab: Sequence[str]
    x_train: Any
    y_train: Any
    x_valid: Any = None
    y_valid: Any = None
    ceiling: float | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    x_test: Any = None  # an optional held-out test split (an addition to the contract)
    y_test: Any = None
    valid_slices: Any = None
    test_slices: Any = None
    slice_name: str | None = None
    chance: float | None = None
    sample_batch: Callable[[Any, int], tuple[Any, Any]] | None = None


@dataclass(frozen=True)
class TaskSpec:
    """A char-level task offered by a plugin.

    `build(**options)` returns `TaskData`; its keyword parameters are the options users set
    with `--task-opt NAME.KEY=VALUE`. `defaults` (an addition to the contract) lets
    `bench list` show suggested hyperparameters without building the data; `TaskData.defaults`
    override them. `selection_metric` (an addition) is the figure `bench best` picks each variant's setting by,
    one of SELECTION_METRICS.
    """

    name: str
    build: Callable[..., TaskData]
    description: str = ""
    causal: bool = True
    defaults: Mapping[str, Any] = field(default_factory=dict)
    selection_metric: str = DEFAULT_SELECTION_METRIC

    def __post_init__(self) -> None:
        if self.selection_metric not in SELECTION_METRICS:
            raise ValueError(f"task {self.name!r}: selection_metric must be one of {', '.join(SELECTION_METRICS)}, "
                             f"got {self.selection_metric!r}")


@runtime_checkable
class Sink(Protocol):
    """Where a run's events go as they happen (a tracker, a live plot); register one with `register_sinks`.

    Subclass it and override the events you need (each does nothing by default). The run folder's files are
    the first sink; a plugin sink that raises has its error reported and the run goes on without losing a row.
    """

    def run_started(self, run_dir: Path, meta: Mapping[str, Any]) -> None:
        """A run (or a resume) begins in `run_dir`; `meta` is its meta.json (environment, options, plugins)."""

    def row_recorded(self, outcome: Any, kept: bool) -> None:
        """A row is on disk: `outcome.row` its runs.csv columns (and `outcome.curve`, `.samples`, `.slices` its
        details). `kept` is True for a row a resume kept from before (its details are not repeated): a sink
        that logged it then should skip it now."""

    def run_finished(self, result: Any) -> None:
        """Every row is recorded: `result` is the run's `benchsuite.RunResult`."""


@dataclass(frozen=True)
class ExporterSpec:
    """An experiment tracker a run can be exported to, by name (`bench export --to NAME`, `bench run --export NAME`).

    `open(destination)` returns the `Sink` that writes runs there (a `benchsuite.Exporter` does the mapping);
    `destination` is the tracker's URI or folder as the user gave it, else `default_destination` in the folder that
    holds the run folder. It imports the tracker's library, and raises `BenchInputError` when that is missing
    (naming `extra`, the pip extra that installs it) or the destination cannot be written.
    """

    name: str
    open: Callable[[str], Sink]
    description: str = ""
    extra: str = ""  # `pip install 'benchsuite[EXTRA]'` installs what `open` needs
    default_destination: str = ""  # a file or folder name: where it writes when not told, beside the run folders
