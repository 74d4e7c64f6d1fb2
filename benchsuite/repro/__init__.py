"""Reproductions: a published table or figure, the protocol that made it, and claims fixed before any run.

Each reproduction is a TOML file in protocols/ (shipped with the package): its source, one protocol per scale
(`paper`: the published one; `cpu`: a stated smaller one for a 2-core machine; `smoke`, where present: a minute,
for CI), the published figures (tagged V/A/R: verified, quoted, recalled), the paper's aggregation and the claims,
each a threshold. A protocol's keys are `bench run` options (some under the paper's name, e.g. `width`, `lrs`),
tables of task, cell and block-recipe options (`task_options`, `cell_options`, `backbone_options`), or descriptive
keys no option expresses (listed as missing). `user_task_options` names what the user must give (a corpus's path).
Published figures and claims may be given per setting (`width`, `num_layers`: `setting`, `where`); a claim with
`over_settings` takes the best of its settings. `run_grid` turns a protocol into the options of an ordinary `bench
run`; `write_report` reads the finished run folder back and writes repro.md and repro.csv: per claim, the published
figure, ours aggregated the paper's way, ours as mean ± std over seeds, ours on the training data, a verdict (with
its reason where it is inconclusive), and every difference from the paper's protocol.
"""
from __future__ import annotations

import json
import math
import operator
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import BenchInputError
from ..planning.options import OPTIONS
from ..results.files import write_rows, write_text_atomic
from ..results.load import load_runs, load_slices
from ..results.schema import SPLIT_COLUMNS

if TYPE_CHECKING:
    import pandas

PROTOCOLS = Path(__file__).parent / "protocols"
SCALES = ("smoke", "cpu", "paper")
RECORD = "repro.json"  # in a run folder: which reproduction and scale it ran, for `bench repro report`
VERDICTS = ("reproduced", "not reproduced", "inconclusive")
OPS = {">=": operator.ge, "<": operator.lt}
ACROSS_RUNS = {"max": max, "min": min, "mean": lambda values: sum(values) / len(values)}
# Protocol keys that are `bench run` options under another name (the rest keep theirs, where the option exists).
OPTION_FOR_KEY = {"hidden_size": "hidden", "num_layers": "layers", "lrs": "lr", "width": "hidden"}
# Protocol keys that are task options of every task the protocol runs, and how each becomes them.
TASK_OPTION_KEYS = {
    "task_options": lambda value: dict(value),
    "train_lengths": lambda value: {"train_max_length": value[1]},  # always from 1, as the generators draw them
    "test_lengths": lambda value: {"test_first": value["first"], "test_last": value["last"],
                                   "test_every": value["every"]},
    "test_per_length": lambda value: {"per_length": value},
}
# Protocol tables that are `bench run`'s table options: cell -> option -> value, and block recipe knob -> value.
TABLE_OPTIONS = {"cell_options": ("cell_opts", lambda value: {cell: {key: str(raw) for key, raw in opts.items()}
                                                              for cell, opts in value.items()}),
                 "backbone_options": ("backbone_opts", lambda value: {key: str(raw) for key, raw in value.items()})}
# Keys that describe the protocol without being an option: Adam is AdamW at weight decay 0 (--weight-decay).
DESCRIPTIVE = {"optimizer": ("adam", "adamw")}
# A run's figure where the aggregation names no test-length sweep: the runs.csv column holding it.
FIGURE_COLUMNS = {"accuracy": "test_accuracy", "val_loss": "valid_loss"}
TABLES = ("task_opts", "cell_opts", "backbone_opts")  # options that are tables of settings, never grid axes
# Settings a published figure or a claim may be given per: the runs.csv column holding each.
SETTING_COLUMNS = {"width": "hidden_size", "num_layers": "num_layers"}
REPORT_COLUMNS = ["claim", "task", "cell", "setting", "op", "threshold", "published", "tag", "ours", "ours_mean",
                  "ours_std", "runs", "verdict", "why", "ours_train"]


@dataclass(frozen=True)
class Reproduction:
    """One reproduction file, read."""

    name: str
    content: Mapping[str, Any]

    @property
    def title(self) -> str:
        return self.content["title"]

    def scales(self) -> list[str]:
        return [scale for scale in SCALES if scale in self.content["protocol"]]

    def protocol(self, scale: str) -> Mapping[str, Any]:
        if scale not in self.content["protocol"]:
            raise BenchInputError(f"reproduction {self.name!r} has no scale {scale!r}; it has "
                                  f"{', '.join(self.scales())}")
        return self.content["protocol"][scale]


def names() -> list[str]:
    """Every reproduction shipped with the package."""
    return sorted(path.stem for path in PROTOCOLS.glob("*.toml"))


def load(name: str) -> Reproduction:
    """The reproduction called `name`; an unknown name is bad input."""
    if name not in names():
        raise BenchInputError(f"unknown reproduction {name!r}; known: {', '.join(names())} (see `bench repro list`)")
    return Reproduction(name, tomllib.loads((PROTOCOLS / f"{name}.toml").read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Grid:
    """A protocol as `bench run` options (`given`, as `bench run` takes them by keyword), the keys no option of
    this build expresses yet (`missing`: key -> value), and the axes whose product is the grid."""

    given: dict[str, Any]
    missing: dict[str, Any]
    axes: dict[str, list[Any]]

    @property
    def size(self) -> int:
        return math.prod(len(values) for values in self.axes.values())


def run_grid(repro: Reproduction, scale: str) -> Grid:
    """The `bench run` options of `repro`'s protocol at `scale`."""
    protocol = repro.protocol(scale)
    given: dict[str, Any] = {}
    missing: dict[str, Any] = {}
    task_options: dict[str, Any] = {}
    for key, value in protocol.items():
        if key in TASK_OPTION_KEYS:
            task_options.update(TASK_OPTION_KEYS[key](value))
        elif key in TABLE_OPTIONS:
            option, convert = TABLE_OPTIONS[key]
            given[option] = convert(value)
        elif key in DESCRIPTIVE and value in DESCRIPTIVE[key]:
            continue
        elif OPTION_FOR_KEY.get(key, key) in OPTIONS:
            given[OPTION_FOR_KEY.get(key, key)] = value
        else:
            missing[key] = value
    if task_options:
        given["task_opts"] = {task: {key: str(value) for key, value in task_options.items()}
                              for task in protocol["tasks"]}
    axes = {}
    for name, value in {**given, **missing}.items():
        values = value if isinstance(value, list) else [value]
        if name not in TABLES and (name in ("tasks", "cells", "lr", "seeds") or len(values) > 1):
            axes[name] = values
    return Grid(given, missing, axes)


def with_user_task_options(repro: Reproduction, grid: Grid, user: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """The grid's `bench run` options with the task options the user gave (task -> key -> value) added: those the
    reproduction asks of the user (`user_task_options`, e.g. the corpus's path) must be there, and none may change
    what the protocol sets."""
    merged = {task: dict(opts) for task, opts in grid.given.get("task_opts", {}).items()}
    for task, opts in user.items():
        for key, value in opts.items():
            if key in merged.get(task, {}):
                raise BenchInputError(f"--task-opt {task}.{key}: the {repro.name} protocol sets it "
                                      f"({merged[task][key]}); a reproduction's protocol is fixed")
            merged.setdefault(task, {})[key] = value
    for dotted, what in repro.content.get("user_task_options", {}).items():
        task, _, key = dotted.partition(".")
        if key not in merged.get(task, {}):
            raise BenchInputError(f"{repro.name} needs --task-opt {dotted}=FILE: {what}")
    return {**grid.given, "task_opts": merged} if merged else dict(grid.given)


def command_line(grid: Grid) -> str:
    """`bench run ...` for the grid (keys no option expresses yet shown as the flags they would be)."""
    parts = ["bench run"]
    for name, value in {**grid.given, **grid.missing}.items():
        flag = OPTIONS[name].flag_name if name in OPTIONS else f"--{name.replace('_', '-')}"
        if name in ("task_opts", "cell_opts"):
            parts += [f"{flag} {owner}.{key}={raw}" for owner, opts in value.items() for key, raw in opts.items()]
        elif name == "backbone_opts":
            parts += [f"{flag} {key}={raw}" for key, raw in value.items()]
        elif isinstance(value, bool):
            parts.append(flag if value else f"--no-{flag[2:]}")
        else:
            parts.append(f"{flag} {','.join(map(str, value)) if isinstance(value, list) else value}")
    return " ".join(parts)


def format_grid(repro: Reproduction, scale: str) -> str:
    """What `bench repro run NAME --scale S --print` shows: the command, the axes and the grid's size."""
    grid = run_grid(repro, scale)
    lines = [f"{repro.name} ({scale} scale): {repro.title}", "", command_line(grid), ""]
    lines += [f"  {name}: {', '.join(map(str, values))} ({len(values)})" for name, values in grid.axes.items()]
    lines.append(f"grid: {grid.size} runs ({' x '.join(str(len(values)) for values in grid.axes.values())})")
    if grid.missing:
        lines.append(f"not yet options of this build (needs the block backbone's options): "
                     f"{', '.join(sorted(grid.missing))}")
    return "\n".join(lines)


def differences(repro: Reproduction, scale: str) -> list[str]:
    """Every way our protocol at `scale` differs from the paper's: the file's standing differences, then each
    protocol value the scale changes."""
    standing = [f"{item['what']}: paper {item['paper']}; ours {item['ours']}"
                for item in repro.content.get("differences", [])]
    paper, ours = repro.protocol("paper"), repro.protocol(scale)
    changed = [f"{key}: paper {paper[key]}; ours {ours[key]}" for key in paper if ours.get(key) != paper[key]]
    return standing + changed


def write_record(run_dir: Path, repro: Reproduction, scale: str) -> None:
    write_text_atomic(run_dir / RECORD, json.dumps({"name": repro.name, "scale": scale}) + "\n")


def read_record(run_dir: Path) -> tuple[Reproduction, str]:
    path = Path(run_dir) / RECORD
    if not path.is_file():
        raise BenchInputError(f"{run_dir}: no {RECORD}; is it a folder `bench repro run` wrote?")
    record = json.loads(path.read_text(encoding="utf-8"))
    return load(record["name"]), record["scale"]


def run_figures(repro: Reproduction, run_dir: Path) -> pandas.DataFrame:
    """One figure per ok run (task, cell, its settings, lr, seed, figure, train), made as the paper makes it: with
    a test-length sweep, the mean of the per-length test accuracies beyond the training lengths; else the runs.csv
    column. `train` is the run's accuracy on its training data (with a sweep: on the training lengths)."""
    aggregation = repro.content["aggregation"]
    runs = load_runs(Path(run_dir) / "runs.csv")
    runs = runs[runs["status"] == "ok"]
    keys = ["task", "cell", *SETTING_COLUMNS.values(), "lr", "seed"]
    fitted = runs[keys].assign(train=runs[SPLIT_COLUMNS["train"].accuracy].astype(float))
    if "train_max_length" in aggregation:
        slices = load_slices(Path(run_dir) / "slices.csv")
        if slices is None:
            raise BenchInputError(f"{run_dir}: no slices.csv, so no per-length accuracy to aggregate")
        beyond = slices[(slices["split"] == "test") & (slices["slice_name"] == "length")]
        beyond = beyond[beyond["slice"].astype(int) > aggregation["train_max_length"]]
        beyond = beyond.astype({column: int for column in SETTING_COLUMNS.values()})
        figures = beyond.groupby(keys, as_index=False)["value"].mean().rename(columns={"value": "figure"})
        return figures.merge(fitted, on=keys)
    return fitted.assign(figure=runs[FIGURE_COLUMNS[aggregation["figure"]]].astype(float))


def setting_keys(repro: Reproduction) -> list[str]:
    """The settings the figures are given per (e.g. width): those a published row or a claim names."""
    named = {key for row in repro.content.get("published", []) for key in row.get("setting", {})}
    named |= {key for claim in repro.content["claims"] for key in claim.get("where", {})}
    return [key for key in SETTING_COLUMNS if key in named]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def protocol_settings(repro: Reproduction, scale: str, where: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the figures' settings that the protocol at `scale` runs and `where` admits."""
    protocol, keys = repro.protocol(scale), setting_keys(repro)
    combos: list[dict[str, Any]] = [{}]
    for key in keys:
        allowed = _as_list(where[key]) if key in where else None
        combos = [{**combo, key: value} for combo in combos for value in _as_list(protocol[key])
                  if allowed is None or value in allowed]
    return combos


def _setting_label(setting: Mapping[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in setting.items())


def _selected(figures: pandas.DataFrame, task: str, cell: str, setting: Mapping[str, Any]) -> pandas.DataFrame:
    chosen = (figures["task"] == task) & (figures["cell"] == cell)
    for key, value in setting.items():
        chosen &= figures[SETTING_COLUMNS[key]] == value
    return figures[chosen]


def published_figure(repro: Reproduction, task: str, cell: str,
                     setting: Mapping[str, Any]) -> tuple[float | None, str]:
    """The comparable published figure (and its tag) for `cell` on `task` at `setting`, if the paper gives one."""
    figure = repro.content["aggregation"]["figure"]
    for row in repro.content.get("published", []):
        if (row["task"] == task and cell in row[figure] and row.get("comparable", True)
                and all(row.get("setting", {}).get(key) == value for key, value in setting.items())):
            return row[figure][cell], row["tag"]
    return None, ""


def aggregate(repro: Reproduction, runs: pandas.DataFrame) -> dict[str, Any]:
    """Ours for one (task, cell, setting): the paper's aggregation over its runs, the mean ± std over seeds at the
    best lr, and the run count (figures None without runs)."""
    across = repro.content["aggregation"]["across_runs"]
    if not len(runs):
        return {"ours": None, "ours_mean": None, "ours_std": None, "runs": 0, "ours_train": None}
    by_lr = runs.groupby("lr")["figure"].mean()
    seeds = runs[runs["lr"] == (by_lr.idxmin() if across == "min" else by_lr.idxmax())]["figure"]
    return {"ours": float(ACROSS_RUNS[across](list(runs["figure"]))), "ours_mean": float(seeds.mean()),
            "ours_std": float(seeds.std(ddof=1)) if len(seeds) > 1 else 0.0, "runs": len(runs),
            "ours_train": float(ACROSS_RUNS[across](list(runs["train"])))}


def best_setting(how: str, groups: list[tuple[dict[str, Any], dict[str, Any], tuple[float | None, str]]]
                 ) -> tuple[dict[str, Any], dict[str, Any], tuple[float | None, str]]:
    """The claims' `over_settings`: one (setting, ours, published) for the best of `groups`, ours (and its run
    count, which the verdict needs) from the best measured setting, the published figure the best the paper gives
    among them."""
    pick = {"max": max, "min": min}[how]
    measured = [group for group in groups if group[1]["ours"] is not None]
    ours = pick(measured, key=lambda group: group[1]["ours"])[1] if measured else groups[0][1]
    published = [group[2] for group in groups if group[2][0] is not None]
    label = f"{how} over {', '.join(_setting_label(group[0]) for group in groups)}"
    return ({"label": label}, ours, pick(published, key=lambda item: item[0]) if published else (None, ""))


def _verdict(row: dict[str, Any], claim: Mapping[str, Any], rule: Mapping[str, Any]) -> tuple[str, str]:
    if row["runs"] < rule["min_runs"]:
        return "inconclusive", f"{row['runs']} ok runs, need {rule['min_runs']}"
    if claim["op"] == "<" and rule.get("fail_claims_need_training_fit") and row["ours_train"] < claim["threshold"]:
        # failing beyond the training lengths says nothing of a model that fails within them
        return "inconclusive", f"not fitted: {row['ours_train']:.3f} on the training lengths"
    if abs(row["ours"] - claim["threshold"]) < rule["inconclusive_within"]:
        return "inconclusive", f"within {rule['inconclusive_within']} of the threshold"
    return ("reproduced", "") if OPS[claim["op"]](row["ours"], claim["threshold"]) else ("not reproduced", "")


def claim_rows(repro: Reproduction, scale: str, figures: pandas.DataFrame) -> list[dict[str, Any]]:
    """One row per (claim, task, cell, setting), or per (claim, task, cell) where the claim takes the best of its
    settings (`over_settings`): the published figure, ours the paper's way and over seeds, the verdict."""
    ran = repro.protocol(scale)
    rows = []
    for claim in repro.content["claims"]:
        where = claim.get("where", {})
        settings = protocol_settings(repro, scale, where)
        for task in claim["tasks"]:
            for cell in claim["cells"]:
                groups = [(setting, aggregate(repro, _selected(figures, task, cell, setting)),
                           published_figure(repro, task, cell, setting)) for setting in settings or [dict(where)]]
                if "over_settings" in claim:
                    groups = [best_setting(claim["over_settings"], groups)]
                for setting, ours, (figure, tag) in groups:
                    row = {"claim": claim["id"], "task": task, "cell": cell,
                           "setting": setting.get("label", _setting_label(setting)), "op": claim["op"],
                           "threshold": claim["threshold"], "published": figure, "tag": tag, **ours}
                    if task not in ran["tasks"] or cell not in ran["cells"] or not settings:
                        row["verdict"], row["why"] = "inconclusive", f"not run at the {scale} scale"
                    else:
                        row["verdict"], row["why"] = _verdict(row, claim, repro.content["verdict"])
                    rows.append(row)
    return rows


def figure_rows(repro: Reproduction, scale: str, figures: pandas.DataFrame) -> list[dict[str, Any]]:
    """Every (task, setting, cell) we ran or the paper publishes, claim or not: ours the paper's way beside the
    published figure (so the paper's other mixers stand beside our cells)."""
    figure, rows = repro.content["aggregation"]["figure"], []
    for task in repro.protocol(scale)["tasks"]:
        for setting in protocol_settings(repro, scale, {}):
            published = [row for row in repro.content.get("published", []) if row["task"] == task
                         and row.get("comparable", True)
                         and all(row.get("setting", {}).get(key) == value for key, value in setting.items())]
            cells = dict.fromkeys([*repro.protocol(scale)["cells"],
                                   *(cell for row in published for cell in row[figure])])
            for cell in cells:
                value, tag = published_figure(repro, task, cell, setting)
                rows.append({"task": task, "setting": _setting_label(setting), "cell": cell, "published": value,
                             "tag": tag, **aggregate(repro, _selected(figures, task, cell, setting))})
    return rows


def _number(value: Any) -> str:
    return "" if value is None else f"{value:.3f}"


def _published(row: Mapping[str, Any]) -> str:
    return "" if row["published"] is None else f"{row['published']:.3f}{' (R)' if row['tag'] == 'R' else ''}"


def _spread(row: Mapping[str, Any]) -> str:
    return "" if row["ours_mean"] is None else f"{row['ours_mean']:.3f} ± {row['ours_std']:.3f} ({row['runs']})"


def write_report(run_dir: str | Path, repro: Reproduction | None = None, scale: str | None = None) -> list[Path]:
    """repro.md and repro.csv in `run_dir` (by default for the reproduction its repro.json names)."""
    run_dir = Path(run_dir)
    if repro is None or scale is None:
        repro, scale = read_record(run_dir)
    figures = run_figures(repro, run_dir)
    rows = claim_rows(repro, scale, figures)
    write_rows(run_dir / "repro.csv", REPORT_COLUMNS, rows)
    source, aggregation = repro.content["source"], repro.content["aggregation"]
    texts = {claim["id"]: claim["text"] for claim in repro.content["claims"]}
    lines = [f"# Reproduction: {repro.title}", "",
             f"Source: {source['paper']} ({source.get('table', source.get('figure', ''))}), {source['url']}. "
             f"Scale: {scale}. Run folder: `{run_dir}`.", "",
             f"Our figure per run: {aggregation['per_run']}; across runs: {aggregation['across_runs']} over "
             f"{' x '.join(aggregation['across'])} (the paper's way); also mean ± std over seeds at the best lr. "
             f"Published figures tagged R were recalled, not checked against the paper. `train`: ours on the "
             f"training data, aggregated the same way.", "",
             "| claim | task | cell | setting | published | ours | ours mean ± std (runs) | train | threshold "
             "| verdict |", "| --- " * 10 + "|"]
    for row in rows:
        verdict = row["verdict"] + (f" ({row['why']})" if row["why"] else "")
        lines.append(f"| {row['claim']} | {row['task']} | {row['cell']} | {row['setting']} | {_published(row)} | "
                     f"{_number(row['ours'])} | {_spread(row)} | {_number(row['ours_train'])} | "
                     f"{row['op']} {row['threshold']} | {verdict} |")
    lines += ["", "Every figure, claimed or not (ours the paper's way; the paper's other models as published):", "",
              "| task | setting | cell | published | ours | ours mean ± std (runs) |",
              "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {row['task']} | {row['setting']} | {row['cell']} | {_published(row)} | {_number(row['ours'])} | "
              f"{_spread(row)} |" for row in figure_rows(repro, scale, figures)]
    lines += ["", "Claims:", *[f"- {claim}: {text}" for claim, text in texts.items()], "",
              "Differences from the paper's protocol:", *[f"- {item}" for item in differences(repro, scale)]]
    write_text_atomic(run_dir / "repro.md", "\n".join(lines) + "\n")
    return [run_dir / "repro.md", run_dir / "repro.csv"]
