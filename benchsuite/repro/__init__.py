"""Reproductions: a published table or figure, the protocol that made it, and claims fixed before any run.

Each reproduction is a TOML file in protocols/ (shipped with the package): its source, one protocol per scale
(`paper`: the published one; `cpu`: a stated smaller one for a 2-core machine; `smoke`, where present: a minute,
for CI), the published figures (tagged V/A/R: verified, quoted, recalled), the paper's aggregation and the claims,
each a threshold. `run_grid` turns a protocol into the options of an ordinary `bench run`; `write_report` reads the
finished run folder back and writes repro.md and repro.csv: per claim, the published figure, ours aggregated the
paper's way, ours as mean ± std over seeds, ours on the training data, a verdict (with its reason where it is
inconclusive), and every difference from the paper's protocol.
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
# Keys that describe the protocol without being an option: Adam is AdamW at weight decay 0, and the stack
# backbone is what every run builds until a backbone option exists.
DESCRIPTIVE = {"optimizer": ("adam", "adamw"), "backbone": ("stack",)}
# A run's figure where the aggregation names no test-length sweep: the runs.csv column holding it.
FIGURE_COLUMNS = {"accuracy": "test_accuracy", "val_loss": "valid_loss"}
REPORT_COLUMNS = ["claim", "task", "cell", "op", "threshold", "published", "tag", "ours", "ours_mean", "ours_std",
                  "runs", "verdict", "why", "ours_train"]


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
        elif key in DESCRIPTIVE and value in DESCRIPTIVE[key] and key not in OPTIONS:
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
        if name != "task_opts" and (name in ("tasks", "cells", "lr", "seeds") or len(values) > 1):
            axes[name] = values
    return Grid(given, missing, axes)


def command_line(grid: Grid) -> str:
    """`bench run ...` for the grid (keys no option expresses yet shown as the flags they would be)."""
    parts = ["bench run"]
    for name, value in {**grid.given, **grid.missing}.items():
        flag = OPTIONS[name].flag_name if name in OPTIONS else f"--{name.replace('_', '-')}"
        if name == "task_opts":
            parts += [f"--task-opt {task}.{key}={raw}" for task, opts in value.items() for key, raw in opts.items()]
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
    """One figure per ok run (task, cell, lr, seed, figure, train), made as the paper makes it: with a test-length
    sweep, the mean of the per-length test accuracies beyond the training lengths; else the runs.csv column.
    `train` is the run's accuracy on its training data (with a sweep: on the training lengths)."""
    aggregation = repro.content["aggregation"]
    runs = load_runs(Path(run_dir) / "runs.csv")
    runs = runs[runs["status"] == "ok"]
    keys = ["task", "cell", "lr", "seed"]
    fitted = runs[keys].assign(train=runs[SPLIT_COLUMNS["train"].accuracy].astype(float))
    if "train_max_length" in aggregation:
        slices = load_slices(Path(run_dir) / "slices.csv")
        if slices is None:
            raise BenchInputError(f"{run_dir}: no slices.csv, so no per-length accuracy to aggregate")
        beyond = slices[(slices["split"] == "test") & (slices["slice_name"] == "length")]
        beyond = beyond[beyond["slice"].astype(int) > aggregation["train_max_length"]]
        figures = beyond.groupby(keys, as_index=False)["value"].mean().rename(columns={"value": "figure"})
        return figures.merge(fitted, on=keys)
    return fitted.assign(figure=runs[FIGURE_COLUMNS[aggregation["figure"]]].astype(float))


def claim_rows(repro: Reproduction, scale: str, figures: pandas.DataFrame) -> list[dict[str, Any]]:
    """One row per (claim, task, cell): the published figure, ours the paper's way and over seeds, the verdict."""
    aggregation, verdict = repro.content["aggregation"], repro.content["verdict"]
    combine = ACROSS_RUNS[aggregation["across_runs"]]
    ran = repro.protocol(scale)
    published = {(row["task"], cell): (value, row["tag"]) for row in repro.content.get("published", [])
                 if "setting" not in row for cell, value in row[aggregation["figure"]].items()}
    rows = []
    for claim in repro.content["claims"]:
        for task in claim["tasks"]:
            for cell in claim["cells"]:
                figure, tag = published.get((task, cell), (None, ""))
                row = {"claim": claim["id"], "task": task, "cell": cell, "op": claim["op"],
                       "threshold": claim["threshold"], "published": figure, "tag": tag, "ours": None,
                       "ours_mean": None, "ours_std": None, "runs": 0, "ours_train": None}
                mine = figures[(figures["task"] == task) & (figures["cell"] == cell)]
                row["runs"] = len(mine)
                if len(mine):
                    row["ours"] = float(combine(list(mine["figure"])))
                    row["ours_train"] = float(combine(list(mine["train"])))
                    by_lr = mine.groupby("lr")["figure"]
                    best_lr = by_lr.mean().idxmax() if aggregation["across_runs"] != "min" else by_lr.mean().idxmin()
                    seeds = mine[mine["lr"] == best_lr]["figure"]
                    row["ours_mean"] = float(seeds.mean())
                    row["ours_std"] = float(seeds.std(ddof=1)) if len(seeds) > 1 else 0.0
                if task not in ran["tasks"] or cell not in ran["cells"]:
                    row["verdict"], row["why"] = "inconclusive", f"not run at the {scale} scale"
                elif row["runs"] < verdict["min_runs"]:
                    row["verdict"], row["why"] = "inconclusive", f"{row['runs']} ok runs, need {verdict['min_runs']}"
                elif (claim["op"] == "<" and verdict.get("fail_claims_need_training_fit")
                      and row["ours_train"] < claim["threshold"]):
                    # failing beyond the training lengths says nothing of a model that fails within them
                    row["verdict"], row["why"] = "inconclusive", (f"not fitted: {row['ours_train']:.3f} on the "
                                                                   f"training lengths")
                elif abs(row["ours"] - claim["threshold"]) < verdict["inconclusive_within"]:
                    row["verdict"], row["why"] = "inconclusive", (f"within {verdict['inconclusive_within']} of the "
                                                                   f"threshold")
                else:
                    holds = OPS[claim["op"]](row["ours"], claim["threshold"])
                    row["verdict"], row["why"] = ("reproduced", "") if holds else ("not reproduced", "")
                rows.append(row)
    return rows


def _number(value: Any) -> str:
    return "" if value is None else f"{value:.3f}"


def write_report(run_dir: str | Path, repro: Reproduction | None = None, scale: str | None = None) -> list[Path]:
    """repro.md and repro.csv in `run_dir` (by default for the reproduction its repro.json names)."""
    run_dir = Path(run_dir)
    if repro is None or scale is None:
        repro, scale = read_record(run_dir)
    rows = claim_rows(repro, scale, run_figures(repro, run_dir))
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
             "| claim | task | cell | published | ours | ours mean ± std (runs) | train | threshold | verdict |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        published = "" if row["published"] is None else f"{row['published']:.3f}{' (R)' if row['tag'] == 'R' else ''}"
        spread = "" if row["ours_mean"] is None else f"{row['ours_mean']:.3f} ± {row['ours_std']:.3f} ({row['runs']})"
        verdict = row["verdict"] + (f" ({row['why']})" if row["why"] else "")
        lines.append(f"| {row['claim']} | {row['task']} | {row['cell']} | {published} | {_number(row['ours'])} | "
                     f"{spread} | {_number(row['ours_train'])} | {row['op']} {row['threshold']} | {verdict} |")
    lines += ["", "Claims:", *[f"- {claim}: {text}" for claim, text in texts.items()], "",
              "Differences from the paper's protocol:", *[f"- {item}" for item in differences(repro, scale)]]
    write_text_atomic(run_dir / "repro.md", "\n".join(lines) + "\n")
    return [run_dir / "repro.md", run_dir / "repro.csv"]
