"""What the user may ask of `bench run`, declared once: each `RunOptions` field carries its `Option` (flag, value
kinds, parser, grid axis, resume rule, help). The click options of `bench run`, the sweep-file schema, parsing, the
resume rules (planning/resume.py) and the meta.json record are all read from these declarations, so a new option is
one field here.

A swept hyperparameter is an option with a runs.csv `column`: each of its values is a setting, part of every row's
key, and the grid is the product of them all. Its `suite_default` is the value used when neither the command line,
the cell nor the task sets it (PRECEDENCE).
"""
from __future__ import annotations

import enum
import os
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Callable, Mapping

from ..backbones import BACKBONES
from ..backbones.recipes import KNOBS, PRESETS
from ..backends import DEFAULT_PRECISION, PRECISIONS, SCHEDULES
from ..errors import BenchInputError
from ..results.naming import direction_label
from .parsers import (
    batch_size_value,
    check_target,
    clip_value,
    convert_value,
    list_items,
    non_negative_number,
    parse_cell_options,
    parse_directions,
    parse_ints,
    parse_names,
    parse_task_options,
    positive_int,
    positive_number,
)

# Limits on values that would otherwise crash or hang the process rather than fail one row.
MAX_SEED = 2**32 - 1  # numpy's legacy seeding, the narrowest a backend accepts
MAX_LAYERS = 64  # a cell is built in the driver without --isolate, where nothing can stop a hung constructor
MAX_PARAMS = 10**7  # --params: each hidden size its search tries builds the whole model (at 10^8: minutes, gigabytes)
THREADS_PER_CPU = 4  # torch's thread pool crashes (even segfaults) far beyond the machine's cores
DEVICE_CHOICES = ("cpu", "cuda", "auto")
PRECEDENCE = "command line > cell defaults > task defaults > suite defaults"


def max_threads() -> int:
    """The most threads `--threads` accepts on this machine."""
    return THREADS_PER_CPU * (os.cpu_count() or 1)


class Resume(enum.Enum):
    """What `--resume RUN_DIR` does with an option; planning/resume.py applies the rules."""

    REPLACE = "taken from the run's meta.json; given again, it replaces that (new grid values add rows)"
    FIXED = "must stay as the run had it: it changes what a row measures without showing in the row's key"
    EXECUTOR = "taken from meta.json, but naming an executor again replaces the executor and all of these"
    LOADS_CODE = "never taken from meta.json, which anyone who can write the folder can edit: given again or unset"
    REACHES_CLUSTER = ("an executor setting (see EXECUTOR) that meta.json alone never sets, as anyone who can write "
                       "the folder can edit it: given again, or another executor named")
    RUN_FOLDER = "does not apply: accepted only when it names the run folder's own parent"
    THIS_RESUME = "only with --resume, for that resume alone: never taken from meta.json"


# What one value may be in a sweep file (TOML types); a single-valued flag's click type follows from it.
NAMES = (str,)
WHOLE = (int,)
NUMBER = (int, float)
FLAG = (bool,)
TABLES = (dict,)  # [task-opt.TASK] tables of KEY = VALUE; on the command line NAME.KEY=VALUE, repeatable


@dataclass(frozen=True)
class Option:
    """How one `RunOptions` field is given, checked, swept, resumed and recorded."""

    flag: str  # on the command line; a boolean's may name its negation too ('--fail-fast/--no-fail-fast')
    help: str
    parse: Callable[[Any, str], Any]  # the value as given (text, a TOML value, a Python one) and the flag -> checked
    kinds: tuple[type, ...]  # what one value may be in a sweep file
    listed: bool = False  # takes several values: a comma list on the command line, an array in a sweep file
    resume: Resume = Resume.REPLACE
    column: str | None = None  # a swept hyperparameter: its runs.csv column, part of every row's key
    suite_default: tuple[str, Any] | None = None  # its name among cell, task and suite defaults, and the suite's value
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    record: Callable[[Any], Any] | None = None  # the meta.json form, when JSON's own is not one `parse` reads back
    only_with: tuple[str, Any] | None = None  # given, it needs this other option at this value
    aliases: Mapping[str, Alias] = field(default_factory=dict)  # by keyword: flags standing for one of its values

    @property
    def flag_name(self) -> str:
        """The flag as messages name it: '--fail-fast'."""
        return self.flag.split("/")[0]

    @property
    def key(self) -> str:
        """The flag without its dashes: the sweep file's key (where `_` may stand for `-`)."""
        return self.flag_name.removeprefix("--")


@dataclass(frozen=True)
class Alias:
    """A boolean flag that stands for one value of its option (`--isolate` is `--executor isolated`)."""

    flag: str
    means: Any
    help: str

    def as_option(self, owner: Option) -> Option:
        return Option(self.flag, self.help, _flag, FLAG, resume=owner.resume)


def _flag(value: Any, flag: str) -> bool:
    return bool(value)


def _text(value: Any, flag: str) -> str:
    return str(value)


def _text_or_none(value: Any, flag: str) -> str | None:
    return str(value) or None


def _grid(parse_one: Callable[[Any, str], Any]) -> Callable[[Any, str], tuple[Any, ...]]:
    """A swept hyperparameter's parser: a value as given ('1e-3,1e-2', a list, or one number) to the tuple of its
    settings, each checked by `parse_one`, without repeats."""
    def parse(value: Any, flag: str) -> tuple[Any, ...]:
        items = list_items(value, flag, "a value or a comma-separated list like 1,2")
        return tuple(dict.fromkeys(parse_one(item, flag) for item in items))
    return parse


def _dotted(parse_pairs: Callable[[Any], dict[str, dict[str, str]]]) -> Callable[[Any, str], dict[str, dict[str, str]]]:
    """Task or cell options given as {name: {key: value}} (Python, a sweep file, meta.json) or NAME.KEY=VALUE pairs;
    a value naming an existing file is made absolute, so a resume from another folder reads the same file."""
    def parse(value: Any, flag: str) -> dict[str, dict[str, str]]:
        pairs = ({name: {str(key): str(raw) for key, raw in opts.items()} for name, opts in value.items()}
                 if isinstance(value, Mapping) else parse_pairs(value))
        return {name: {key: _resolved_file(raw) for key, raw in opts.items()} for name, opts in pairs.items()}
    return parse


def _resolved_file(value: str) -> str:
    """`value` as an absolute path when it names an existing file, else as typed."""
    try:
        path = os.path.expanduser(value)
    except ValueError:  # a NUL character (in a user name): it names no file
        return value
    return os.path.abspath(path) if os.path.isfile(path) else value


def _layers(value: Any, flag: str) -> tuple[int, ...]:
    return parse_ints(value, flag, minimum=1, maximum=MAX_LAYERS, why="deeper stacks take too long to build")


def _non_negative_int(value: Any, flag: str) -> int:
    return parse_ints(value, flag, minimum=0)[0]


def _seeds(value: Any, flag: str) -> tuple[int, ...]:
    return parse_ints(value, flag, minimum=0, maximum=MAX_SEED, why="what every backend's seeding accepts")


def _params(value: Any, flag: str) -> int:
    return positive_int(value, flag, maximum=MAX_PARAMS, why="sizing a larger model builds models for minutes")


def _threads(value: Any, flag: str) -> int:
    return positive_int(value, flag, maximum=max_threads(), why=f"{THREADS_PER_CPU} per CPU of this machine")


def _target(value: Any, flag: str) -> float:
    return check_target(positive_number(value, flag))


def _share(value: Any, flag: str) -> float:
    """A fraction in [0, 1)."""
    share = non_negative_number(value, flag)
    if share >= 1:
        raise BenchInputError(f"{flag} {value}: expected a fraction of the lr from 0 up to (not including) 1, "
                              "e.g. 0.1")
    return share


def _choice(allowed: tuple[str, ...]) -> Callable[[Any, str], str]:
    """A parser of one of `allowed` names."""
    def parse(value: Any, flag: str) -> str:
        if str(value) not in allowed:
            raise BenchInputError(f"{flag} {value!r}: expected one of {', '.join(allowed)}")
        return str(value)
    return parse


def _backbone_options(value: Any, flag: str) -> dict[str, Any]:
    """Block recipe knobs as KEY=VALUE pairs (or a mapping), typed by their defaults."""
    pairs = value.items() if isinstance(value, Mapping) else (
        str(pair).partition("=")[::2] for pair in ([value] if isinstance(value, str) else value))
    typed = {}
    for key, raw in pairs:
        key = str(key).strip()
        if key not in KNOBS:
            raise BenchInputError(f"{flag} {key}: no such knob; knobs: {', '.join(KNOBS)} (expected KEY=VALUE, e.g. "
                                  "norm=layernorm)")
        typed[key] = convert_value(f"{flag} {key}={raw}", str(raw), KNOBS[key])
    return typed


def _direction_names(directions: tuple[bool, ...] | None) -> list[str] | None:
    return None if directions is None else [direction_label(bidirectional) for bidirectional in directions]


def declared(spec: Option, default: Any = None) -> Any:
    """A `RunOptions` field declared by `spec`; `default` is its value when it is not given (MISSING: required)."""
    if isinstance(default, (dict, tuple)) and not default:
        return field(default_factory=type(default), metadata={"option": spec})
    return field(default=default, metadata={"option": spec})


Grid = tuple[Any, ...] | None  # a swept hyperparameter's settings; None: the cell's or task's default
GRID_HELP = ("Lists of any of the swept options make a grid, their product; each setting is part of a variant's "
             "identity.")


@dataclass(frozen=True)
class RunOptions:
    """What the user asked for, parsed and checked; None means "the task's default". Fields are in help order."""

    tasks: tuple[str, ...] = declared(Option(
        "--tasks", "Comma-separated task names (see `bench list`); required unless --resume.",
        parse_names, NAMES, listed=True), MISSING)
    cells: tuple[str, ...] | None = declared(Option(
        "--cells", "Comma-separated cell names [default: every cell].", parse_names, NAMES, listed=True))
    layers: tuple[int, ...] | None = declared(Option(
        "--layers", "Layer counts, e.g. 1,2, at most 64 [default: the task's].", _layers, WHOLE, listed=True,
        suite_default=("num_layers", 1)))
    directions: tuple[bool, ...] | None = declared(Option(
        "--directions", "uni, bi or uni,bi [default: uni on causal tasks, both otherwise].", parse_directions, NAMES,
        listed=True, record=_direction_names))
    hidden: Grid = declared(Option(
        "--hidden", "Hidden sizes, e.g. 32,64 [default: the task's].", _grid(positive_int), WHOLE, listed=True,
        column="hidden_size", suite_default=("hidden_size", 32)))
    epochs: Grid = declared(Option(
        "--epochs", "Training epochs, e.g. 10,20 [default: the task's].", _grid(positive_int), WHOLE, listed=True,
        column="max_epochs", suite_default=("epochs", 100)))
    lr: Grid = declared(Option(
        "--lr", "Adam learning rates, e.g. 3e-3,1e-2,3e-2 [default: the cell's, else the task's]. " + GRID_HELP,
        _grid(positive_number), NUMBER, listed=True, column="lr", suite_default=("lr", 0.01)))
    batch_size: Grid = declared(Option(  # ints and FULL_BATCH
        "--batch-size", "Samples per training step, or 'full' for one step per epoch, e.g. 32,full [default: the "
        "task's].", _grid(batch_size_value), (int, str), listed=True, column="batch_size",
        suite_default=("batch_size", None)))  # full batch, as in the notebook
    clip: Grid = declared(Option(  # None within: no clipping
        "--clip", "Largest gradient norms, clipped to before each update; 'none' for no clipping, e.g. 0.5,1,none "
        "[default: the cell's, else none].", _grid(clip_value), (int, float, str), listed=True, column="clip",
        suite_default=("clip", None)))
    weight_decay: Grid = declared(Option(
        "--weight-decay", "Decoupled weight decays (AdamW), e.g. 0,1e-4,1e-2 [default: the cell's, else 0, plain "
        "Adam].", _grid(non_negative_number), NUMBER, listed=True, column="weight_decay",
        suite_default=("weight_decay", 0.0)))
    steps: Grid = declared(Option(
        "--steps", "Fresh batches per epoch for tasks that draw new data each step (the Deletang tasks); a task with "
        "a fixed training split ignores it [default: the task's].", _grid(positive_int), WHOLE, listed=True,
        column="steps", suite_default=("steps", None)))
    backbone: Grid = declared(Option(
        "--backbone", "The model around the cell: stack (one-hot -> the cell's layers -> head, the notebook's) or "
        "block (embedding -> pre-norm residual blocks, the cell as each block's mixer, with an MLP -> norm -> head; "
        "torch cells only), e.g. stack,block [default: stack].", _grid(_choice(tuple(BACKBONES))), NAMES,
        listed=True, column="backbone", suite_default=("backbone", "stack")))
    preset: Grid = declared(Option(
        "--preset", f"block: a published recipe, {', '.join(PRESETS)} [default: RMSNorm, GELU MLP x4, untied head, "
        "no dropout].", _grid(_choice(tuple(PRESETS))), NAMES, listed=True, column="preset",
        suite_default=("preset", None)))
    backbone_opts: Mapping[str, Any] = declared(Option(
        "--backbone-opt", f"block: a recipe knob over the preset, e.g. norm=layernorm (repeatable; knobs: "
        f"{', '.join(KNOBS)}).", _backbone_options, TABLES, resume=Resume.FIXED, metavar="KEY=VALUE"), {})
    schedule: Grid = declared(Option(
        "--schedule", "Learning-rate schedules: constant, or cosine (to --lr-floor over the run's steps) [default: "
        "constant].",
        _grid(_choice(SCHEDULES)), NAMES, listed=True, column="schedule", suite_default=("schedule", "constant")))
    warmup: Grid = declared(Option(
        "--warmup", "Steps of linear lr warmup, e.g. 0,100 [default: 0].", _grid(_non_negative_int), WHOLE,
        listed=True, column="warmup_steps", suite_default=("warmup_steps", 0)))
    lr_floor: float = declared(Option(
        "--lr-floor", "cosine: the lr the schedule ends at, as a fraction of --lr, e.g. 0.1 (rows record it as "
        "lr_floor) [default: 0].", _share, NUMBER, resume=Resume.FIXED), 0.0)
    early_stop: bool = declared(Option(
        "--early-stop/--no-early-stop", "Stop a run once its validation accuracy reaches the target (--target); "
        "rows say why each run stopped.", _flag, FLAG, resume=Resume.FIXED), False)
    params: int | None = declared(Option(
        "--params", "Matched capacity: each cell variant gets the hidden size whose whole model (embedding, norms, "
        "MLPs and head included) has the parameter count closest to this, at most 10^7 (instead of --hidden).", _params,
        WHOLE))
    seeds: tuple[int, ...] = declared(Option(
        "--seeds", "Comma-separated seeds from 0 to 2^32-1; one row per seed.", _seeds, WHOLE, listed=True), (0,))
    device: str = declared(Option(  # its resolved value is checked against the run's in results/resume.prepare_resume
        "--device", "", _text, NAMES, choices=DEVICE_CHOICES), "auto")
    out: str = declared(Option(
        "--out", "Folder that receives the run folder.", _text, NAMES, resume=Resume.RUN_FOLDER), "results")
    task_opts: Mapping[str, Mapping[str, str]] = declared(Option(
        "--task-opt", "A task option, e.g. delay.gap=50 (repeatable).", _dotted(parse_task_options), TABLES,
        resume=Resume.FIXED, metavar="TASK.KEY=VALUE"), {})
    cell_opts: Mapping[str, Mapping[str, str]] = declared(Option(
        "--cell-opt", "An option of a cell's build function, e.g. mycell.heads=4 (repeatable; see `bench list`).",
        _dotted(parse_cell_options), TABLES, resume=Resume.FIXED, metavar="CELL.KEY=VALUE"), {})
    plugins_dir: str | None = declared(Option(
        "--plugins-dir", "Also load every *.py plugin file in this folder.", _text, NAMES, resume=Resume.LOADS_CODE))
    timeout: float | None = declared(Option(
        "--timeout", "Seconds one training run may take (checked between steps). With --isolate a child that takes "
        "this plus a grace to build its cell, or to finish a step, is killed; without it nothing can stop a cell "
        "whose build or step hangs.", positive_number, NUMBER))
    threads: int | None = declared(Option(
        "--threads", "torch's intra-op thread count for the run, at most 4 per CPU [default: torch's own choice].",
        _threads, WHOLE, resume=Resume.FIXED))
    target: float | None = declared(Option(
        "--target", "Accuracy for time-to-target [default: 0.99 x the task's ceiling, else 0.99].", _target, NUMBER,
        resume=Resume.FIXED))
    executor: str = declared(Option(  # a name in execution.EXECUTORS, checked there (it lies above planning)
        "--executor", "Where jobs run: in this process (inline), each in a child process (isolated), or as Ray tasks "
        "(ray; needs pip install 'benchsuite[ray]').", _text, NAMES, resume=Resume.EXECUTOR,
        aliases={"isolate": Alias("--isolate/--no-isolate", "isolated",
                                  "Run each training run in a child process, so a crash or kill of it becomes an "
                                  "error row (the same as --executor isolated).")}), "inline")
    workers: int | None = declared(Option(
        "--workers", "--executor ray: jobs at once on the local Ray instance the run starts [default: one per core].",
        positive_int, WHOLE, resume=Resume.EXECUTOR, only_with=("executor", "ray")))
    ray_address: str | None = declared(Option(
        "--ray-address", "--executor ray: use this existing Ray cluster (also read from RAY_ADDRESS) instead of a "
        "local instance.", _text_or_none, NAMES, resume=Resume.REACHES_CLUSTER, metavar="HOST:PORT",
        only_with=("executor", "ray")))
    gpus_per_job: float | None = declared(Option(
        "--gpus-per-job", "--executor ray: each CUDA job's share of a GPU, e.g. 0.25 for four jobs per GPU [default: "
        "1].", positive_number, NUMBER, resume=Resume.EXECUTOR, only_with=("executor", "ray")))
    precision: str = declared(Option(
        "--precision", "Arithmetic of the forward pass and the loss: fp32, or autocast to bf16 or fp16 (weights, "
        "gradients and Adam stay fp32; fp16 needs --device cuda and scales the loss).", _text, NAMES,
        resume=Resume.FIXED, choices=PRECISIONS), DEFAULT_PRECISION)
    compile: bool = declared(Option(
        "--compile/--no-compile", "Train a torch.compile of each torch model, compiled before its first step "
        "(runs.csv's compile_seconds; step times never include compiling).", _flag, FLAG, resume=Resume.FIXED),
        False)
    fail_fast: bool = declared(Option(
        "--fail-fast/--no-fail-fast", "Stop at the first row that is not ok or skipped.", _flag, FLAG), False)
    export: tuple[str, ...] | None = declared(Option(
        "--export", "Export the run to experiment trackers as it goes, each row as it finishes: mlflow, tensorboard, "
        "wandb (each needs its extra: pip install 'benchsuite[mlflow]'), or a plugin's; NAME=WHERE sets the "
        "tracking URI or log folder [default: mlflow.db, tensorboard/, wandb/ beside the run folder]. A resume "
        "exports the rows the store lacks.", parse_names, NAMES, listed=True, metavar="NAME[=WHERE],..."))
    save_models: bool = declared(Option(
        "--save-models", "Keep each ok row's trained model in RUN_DIR/models (for `bench sample`).", _flag, FLAG),
        False)
    resume_across_versions: bool = declared(Option(
        "--resume-across-versions", "With --resume: go on although benchsuite, a plugin, torch or the git commit "
        "changed since the run's last rows; runs.csv's code_version column tells the rows of each code apart "
        "(meta.json's `code` list says what each was).", _flag, FLAG, resume=Resume.THIS_RESUME), False)

    @classmethod
    def parse(cls, **given: Any) -> RunOptions:
        """Options as users give them (text like 'a,b', TOML values or Python ones, by keyword: a field's name or an
        alias's) to checked values; None means not given."""
        unknown = sorted(set(given) - set(INPUTS))
        if unknown:
            raise TypeError(f"RunOptions.parse() got unexpected keyword arguments: {', '.join(unknown)}")
        values = {}
        for name, spec in OPTIONS.items():
            value = _with_aliases(name, spec, given)
            if value is not None:
                values[name] = spec.parse(value, spec.flag_name)
        options = cls(**values)
        if options.params is not None and options.hidden is not None:
            raise BenchInputError("--params chooses each variant's hidden size; give --params or --hidden, not both")
        needing = [spec for name, spec in OPTIONS.items() if spec.only_with is not None and name in values]
        for other, value in dict.fromkeys(spec.only_with for spec in needing):
            wrong = [spec.flag_name for spec in needing
                     if spec.only_with == (other, value) and getattr(options, other) != value]
            if wrong:
                raise BenchInputError(f"{', '.join(wrong)}: only for {OPTIONS[other].flag_name} {value} (this run "
                                      f"uses {getattr(options, other)})")
        return options

    @property
    def isolate(self) -> bool:
        """True for the isolated executor (what `--isolate` asks for)."""
        return self.executor == "isolated"


def _with_aliases(name: str, spec: Option, given: Mapping[str, Any]) -> Any:
    """The option's value as given, or the value an alias given instead stands for; both, when they differ, are
    bad input."""
    chosen = given.get(name)
    for alias_name, alias in spec.aliases.items():
        if given.get(alias_name):
            if chosen not in (None, alias.means):
                raise BenchInputError(f"{alias.as_option(spec).flag_name} is {spec.flag_name} {alias.means}; it "
                                      f"cannot be combined with {spec.flag_name} {chosen}")
            chosen = alias.means
    return chosen


# Every field's option by field name, and every input `bench run` takes by keyword (aliases after their option),
# in help order.
OPTIONS: dict[str, Option] = {run_field.name: run_field.metadata["option"] for run_field in fields(RunOptions)}
INPUTS: dict[str, Option] = {
    name: spec for field_name, owner in OPTIONS.items()
    for name, spec in [(field_name, owner), *((alias_name, alias.as_option(owner))
                                              for alias_name, alias in owner.aliases.items())]}
SWEPT: dict[str, Option] = {name: spec for name, spec in OPTIONS.items() if spec.column is not None}
SUITE_DEFAULTS: dict[str, Any] = dict(spec.suite_default for spec in OPTIONS.values() if spec.suite_default is not None)


def options_record(options: RunOptions) -> dict[str, Any]:
    """The options as JSON-ready values that `RunOptions.parse` reads back to the same options."""
    record = {}
    for name, spec in OPTIONS.items():
        value = getattr(options, name)
        record[name] = spec.record(value) if spec.record is not None else _plain(value)
    return record


def input_files(options: RunOptions) -> dict[str, dict[str, str]]:
    """Each file a task or cell option names (absolute, as parsing made it) with the sha256 of its content, by
    'FLAG NAME.KEY': what a resume checks the run's inputs against."""
    from ..registry.provenance import file_digest

    files = {}
    for name in ("task_opts", "cell_opts"):  # the options whose values _dotted resolves
        for target, opts in getattr(options, name).items():
            for key, value in opts.items():
                if os.path.isabs(value) and os.path.isfile(value):
                    files[f"{OPTIONS[name].flag_name} {target}.{key}"] = {"path": value, "sha256": file_digest(value)}
    return files


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return list(value) if isinstance(value, tuple) else value


def options_from_record(record: Mapping[str, Any]) -> RunOptions:
    """`RunOptions` from what `options_record` wrote (keys this version does not know are ignored)."""
    return RunOptions.parse(**{name: value for name, value in record.items() if name in INPUTS})
