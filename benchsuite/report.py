"""`bench report RUN_DIR`: summary.md (one table per task, the best of each metric marked) and PNG plots.

Everything is read back from the run folder's files, so a report can be made for any run, finished
or interrupted, and remade at will; each file is replaced atomically.
"""
from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .files import write_text_atomically
from .layout import figure, markdown_table, setting
from .metrics import METRICS, Metric
from .readers import read_curves, read_meta, read_runs
from .table import VARIANT_COLUMNS, variant_name

if TYPE_CHECKING:
    import pandas


def write_report(run_dir: Path) -> list[Path]:
    """Write summary.md and the plots into `run_dir`; return the paths written."""
    from .plots import draw_plots

    runs = read_runs(run_dir / "runs.csv")
    curves = read_curves(run_dir / "curves.csv")
    meta = read_meta(run_dir / "meta.json")
    plots = draw_plots(runs, curves, run_dir)
    summary = run_dir / "summary.md"
    write_text_atomically(summary, summary_markdown(run_dir.name, runs, meta, [p.name for p in plots]))
    return [summary, *plots]


def _environment(meta: dict[str, Any] | None) -> str:
    if meta is None:
        return "No meta.json: the environment of this run is unknown."
    facts = [f"started {meta.get('started_at', '?')}", f"on {meta.get('hostname', '?')} ({meta.get('cpu', '?')})",
             f"device {meta.get('device_name') or meta.get('device', '?')}", f"torch {meta.get('torch', '?')}",
             f"{meta.get('threads', '?')} threads"]
    if meta.get("git_commit"):
        facts.append(f"commit {str(meta['git_commit'])[:10]}" + (" (dirty)" if meta.get("git_dirty") else ""))
    return "Run " + ", ".join(facts) + "."


def _cell(values: "pandas.Series", metric: Metric) -> tuple[str, float | None]:
    """The shown figure (mean, ± std over several seeds) and the value that ranks it (None: not ranked)."""
    if metric.blank_means_never:
        reached = values.dropna()
        if reached.empty:
            return "never", None
        text = figure(reached.mean())
        if len(reached) < len(values):  # only variants that always reached the target compete for best
            return f"{text} ({len(reached)}/{len(values)} reached)", None
        return text, float(reached.mean())
    values = values.dropna()
    if values.empty:
        return "-", None
    mean = float(values.mean())
    spread = f" ± {figure(statistics.stdev(values))}" if len(values) > 1 else ""
    return figure(mean) + spread, mean


def _best_marked(cells: list[tuple[str, float | None]], metric: Metric) -> list[str]:
    ranked = [value for _, value in cells if value is not None and not math.isnan(value)]
    if len(ranked) < 2:
        return [text for text, _ in cells]
    best = figure(max(ranked) if metric.higher_is_better else min(ranked))
    return [f"**{text}**" if value is not None and figure(value) == best else text for text, value in cells]


def task_table(runs: "pandas.DataFrame") -> list[str]:
    """One task's variants x metrics as Markdown: means over ok seeds, the best of each metric in bold."""
    ok = runs[runs["status"] == "ok"]
    metrics = [METRICS[name] for name in METRICS if name in ok and ok[name].notna().any()]
    variants = [group for _, group in runs.groupby(VARIANT_COLUMNS, sort=True)]
    columns: list[list[str]] = []
    for metric in metrics:
        cells = [_cell(group.loc[group["status"] == "ok", metric.name], metric) for group in variants]
        columns.append(_best_marked(cells, metric))
    header = ["variant", "backend", "device", "ok", *(m.name for m in metrics)]
    has_params = "params" in runs and runs["params"].notna().any()
    rows = []
    for index, group in enumerate(variants):
        first = group.iloc[0]
        row = [variant_name(first), first["backend"], first["device"],
               f"{int((group['status'] == 'ok').sum())}/{len(group)}", *(column[index] for column in columns)]
        if has_params:
            row.append(", ".join(setting(value) for value in sorted(group["params"].dropna().unique())) or "-")
        rows.append(row)
    return markdown_table([header + (["params"] if has_params else []), *rows])


def _not_ok(runs: "pandas.DataFrame") -> list[str]:
    return [f"- {variant_name(row)} seed {row['seed']}: {row['status']}" + (f": {row['error']}" if row["error"] else "")
            for row in runs.to_dict("records") if row["status"] != "ok"]


def _ceiling(runs: "pandas.DataFrame") -> str:
    if "ceiling" not in runs or runs["ceiling"].isna().all():
        return "ceiling: not known for this task"
    values = ", ".join(figure(value) for value in sorted(runs["ceiling"].dropna().unique()))
    return f"ceiling: {values} (the best accuracy any model can reach on this data)"


def summary_markdown(title: str, runs: "pandas.DataFrame", meta: dict[str, Any] | None, plots: list[str]) -> str:
    lines = [f"# benchsuite report: {title}", "", _environment(meta), "",
             "Figures are means over the seeds that finished ok (± standard deviation over several seeds); "
             "the best of each metric is in **bold**."]
    if runs.empty:
        lines += ["", "No rows recorded yet."]
    for task, group in runs.groupby("task", sort=True):
        lines += ["", f"## {task}", "", _ceiling(group), "", *task_table(group)]
        failures = _not_ok(group)
        if failures:
            lines += ["", "Not ok:", "", *failures]
    if plots:
        lines += ["", "## Plots", "", *(f"![{name}]({name})" for name in plots)]
    return "\n".join(lines) + "\n"
