"""`bench report RUN_DIR`: summary.md (one table per task, the best of each metric marked), PNG plots and
report.html (all of them in one page).

Everything is read back from the run folder's files, so a report can be made for any run, finished
or interrupted, and remade at will; each file is replaced atomically.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..registry.provenance import selection_metrics
from ..results.files import write_text_atomic
from ..results.load import load_meta, load_runs
from ..results.metrics import METRICS, Metric
from ..results.naming import (
    figure,
    fixed_settings,
    markdown_table,
    markdown_text,
    setting,
    variant_name,
    varying_settings,
)
from ..results.schema import KEY_COLUMNS, VARIANT_COLUMNS, is_blank
from ..results.summary import SUMMARY_METRICS, summarize
from ..results.tuning import settings_swept
from .samples import SAMPLE_TEMPERATURE, model_samples
from .tuned import tuned_markdown

if TYPE_CHECKING:
    import pandas


def write_report(run_dir: Path, plugins_dir: str | None = None,
                 drawn: Callable[[], list[Path] | None] | None = None) -> list[Path]:
    """Write summary.md, the plots and report.html (the same summary as one self-contained page) into `run_dir`;
    return the paths written. Plugin files load only from `plugins_dir` (given on the command line, never read
    from the run's meta.json). `drawn` gives the plots another process drew meanwhile (see plot_worker), or None
    when it drew none: then they are drawn here."""
    runs = load_runs(run_dir / "runs.csv")
    meta = load_meta(run_dir / "meta.json")
    samples = model_samples(run_dir, plugins_dir)
    plots = drawn() if drawn is not None else None
    if plots is None:
        from .plots import draw_run_plots

        plots = draw_run_plots(run_dir, runs)
    from .html import report_html

    summary, page = run_dir / "summary.md", run_dir / "report.html"
    text = summary_markdown(run_dir.name, runs, meta, [p.name for p in plots], samples,
                            selection_metrics(plugins_dir))
    write_text_atomic(summary, text)
    write_text_atomic(page, report_html(run_dir.name, text, meta, plots))
    return [summary, page, *plots]


def _environment(meta: dict[str, Any] | None) -> str:
    if meta is None:
        return "No meta.json: the environment of this run is unknown."
    facts = [f"started {meta.get('started_at', '?')}", f"on {meta.get('hostname', '?')} ({meta.get('cpu', '?')})",
             f"device {meta.get('device_name') or meta.get('device', '?')}", f"torch {meta.get('torch', '?')}",
             f"{meta.get('threads', '?')} threads"]
    if meta.get("git_commit"):
        facts.append(f"commit {str(meta['git_commit'])[:10]}" + (" (dirty)" if meta.get("git_dirty") else ""))
    return "Run " + markdown_text(", ".join(facts)) + "."


def _cell(row: dict[str, Any], metric: Metric) -> tuple[str, float | None]:
    """The shown figure (mean, ± std over several seeds) and the value that ranks it (None: not ranked)."""
    mean, std, seeds = row[f"{metric.name}_mean"], row[f"{metric.name}_std"], row["n_seeds"]
    if metric.blank_means_never and seeds:
        reached = row["n_reached_target"]
        if reached == 0:
            return "never", None
        if reached < seeds:  # only variants whose every seed reached the target compete for best
            return f"{figure(mean)} ({reached}/{seeds} reached)", None
        return figure(mean), mean
    if math.isnan(mean):
        return "-", None
    return figure(mean) + (f" ± {figure(std)}" if seeds > 1 else ""), mean


def _best_marked(cells: list[tuple[str, float | None]], metric: Metric) -> list[str]:
    ranked = [value for _, value in cells if value is not None]
    if len(ranked) < 2:
        return [text for text, _ in cells]
    best = figure(max(ranked) if metric.higher_is_better else min(ranked))
    return [f"**{text}**" if value is not None and figure(value) == best else text for text, value in cells]


def _shown_metrics(runs: pandas.DataFrame, summary: pandas.DataFrame) -> list[Metric]:
    """Metrics with a figure in this summary; time-to-target also when it was measured but never reached."""
    measured_target = "target" in runs and runs["target"].notna().any()
    return [METRICS[name] for name in SUMMARY_METRICS if name in METRICS
            and (summary[f"{name}_mean"].notna().any() or (METRICS[name].blank_means_never and measured_target))]


# A variant whose accuracy is under this share of the best one's on its task, all trained at one learning rate, gets
# a hint: a task's default lr suits the cells it was chosen for and can stall another (the transformer on ship).
HINT_SHARE = 0.5


def _setting_hints(runs: pandas.DataFrame, summary: pandas.DataFrame) -> list[str]:
    """A hint under a task's table for each variant trained far worse than the best one at the one lr all shared."""
    lrs = runs["lr"].unique()
    accuracies = summary["accuracy_mean"]
    if len(lrs) != 1 or accuracies.isna().all():
        return []
    lr, best = float(lrs[0]), accuracies.max()
    swept = varying_settings(runs)
    return ["- " + markdown_text(
                f"{variant_name(row, swept)} reached accuracy {figure(row['accuracy_mean'])}, under half the best "
                f"here ({figure(best)}), with lr {figure(lr)}, the one learning rate this task's variants shared: one "
                f"that suits some cells can stall another. Sweep it (e.g. --lr {lr:g},{lr / 10:g},{lr / 100:g}) and "
                "the Tuned section picks each variant's best.", line_start=True)
            for row in summary.to_dict("records") if row["accuracy_mean"] < HINT_SHARE * best]


def task_table(runs: pandas.DataFrame, summary: pandas.DataFrame) -> list[str]:
    """One task's variants x metrics as Markdown from its rows and their `summary`: means over ok seeds, the best of
    each metric in bold."""
    summary = summary.sort_values(VARIANT_COLUMNS, kind="stable")
    metrics = _shown_metrics(runs, summary)
    variants = summary.to_dict("records")
    swept = varying_settings(runs)
    columns = [_best_marked([_cell(row, metric) for row in variants], metric) for metric in metrics]
    header = ["variant", "backend", "device", "seeds", *(metric.name for metric in metrics), "params"]
    rows = [[variant_name(row, swept), row["backend"], row["device"], row["statuses"],
              *(column[index] for column in columns),
             "-" if is_blank(row["params"]) else setting(float(row["params"]))]
            for index, row in enumerate(variants)]
    return markdown_table([header, *rows])


# What a row that stopped early still measured: its last finished epoch's figures (if marked partial) and step time.
PARTIAL_FIGURES = ("accuracy", "final_loss", "valid_accuracy", "valid_loss", "step_ms_median")


def _measured_so_far(row: dict[str, Any]) -> str:
    partial = row.get("partial") in (True, "True")  # runs.csv text, or a bool
    shown = [f"{name} {figure(row[name])}" for name in PARTIAL_FIGURES
             if (partial or name == "step_ms_median") and not is_blank(row.get(name))]
    return f" ({'partial: ' if partial else ''}{', '.join(shown)})" if shown else ""


def _not_ok(runs: pandas.DataFrame) -> list[str]:
    swept = varying_settings(runs)
    return ["- " + markdown_text(f"{variant_name(row, swept)} seed {row['seed']}: {row['status']}"
                                 + (f": {row['error']}" if row["error"] else ""), line_start=True)
            + _measured_so_far(row)
            for row in runs[runs["status"] != "ok"].to_dict("records")]


def _stated(runs: pandas.DataFrame, column: str) -> str | None:
    """A task's stated figure (several if its rows differ), or None where it states none."""
    if column not in runs or runs[column].isna().all():
        return None
    return ", ".join(figure(value) for value in sorted(runs[column].dropna().unique()))


def _ceiling(runs: pandas.DataFrame) -> str:
    ceiling, chance = _stated(runs, "ceiling"), _stated(runs, "chance")
    line = ("ceiling: not known for this task" if ceiling is None
            else f"ceiling: {ceiling} (the best accuracy any model can reach on this data)")
    return line if chance is None else f"{line}; chance: {chance} (what guessing without reading the input reaches)"


def _predictions(runs: pandas.DataFrame) -> list[str]:
    """Each variant's prediction on the first training sample (its lowest ok seed), as the seed notebook printed."""
    if "prediction" not in runs:
        return []
    ok = runs[(runs["status"] == "ok") & runs["prediction"].notna()].sort_values([*VARIANT_COLUMNS, "seed"])
    firsts = ok.drop_duplicates(VARIANT_COLUMNS)
    swept = varying_settings(runs)
    return [f"- {markdown_text(variant_name(row, swept), line_start=True)} seed {row['seed']}: "
            f"{_code(row['prediction'])}" for row in firsts[[*KEY_COLUMNS, "prediction"]].to_dict("records")]


def _code(text: str) -> str:
    """`text` as a one-line code span, with a fence longer than any run of backticks in it."""
    text = " ".join(str(text).splitlines())
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def _samples(samples: list[tuple[str, str]]) -> list[str]:
    lines = [f"Samples from the saved models (temperature {SAMPLE_TEMPERATURE:g}, seed 0; `bench sample` for more):",
             ""]
    for variant, text in samples:
        lines += [f"{variant}:", "", "```", text, "```", ""]
    return lines[:-1]


def summary_markdown(title: str, runs: pandas.DataFrame, meta: dict[str, Any] | None, plots: list[str],
                     samples: dict[str, list[tuple[str, str]]] | None = None,
                     selection_metrics: Mapping[str, str] | None = None) -> str:
    """summary.md's text; `selection_metrics` (each task's, by name) selects the Tuned section's settings."""
    lines = [f"# benchsuite report: {markdown_text(title)}", "", _environment(meta), "",
             "Figures are means over the seeds that finished ok (± standard deviation over several seeds; "
             "time-to-target over the seeds that reached it); the best of each metric is in **bold**."]
    if runs.empty:
        lines += ["", "No rows recorded yet."]
    summaries = dict(tuple(summarize(runs).groupby("task", sort=False)))
    for task, group in runs.groupby("task", sort=True):
        shared = fixed_settings(group)
        lines += ["", f"## {markdown_text(task)}", "",
                  _ceiling(group) + (f"; every variant trained with {markdown_text(shared)}" if shared else ""),
                  "", *task_table(group, summaries[task])]
        hints = _setting_hints(group, summaries[task])
        if hints:
            lines += ["", *hints]
        predictions = _predictions(group)
        if predictions:
            lines += ["", "Predicted next characters of the first training sample:", "", *predictions]
        if samples and task in samples:
            lines += ["", *_samples(samples[task])]
        failures = _not_ok(group)
        if failures:
            lines += ["", "Not ok:", "", *failures]
    tuned_section = tuned_markdown(runs, selection_metrics) if settings_swept(runs) else []  # else nothing to choose
    if tuned_section:
        lines += ["", *tuned_section]
    if plots:
        lines += ["", "## Plots", "", *(f"![{name}]({name})" for name in plots)]
    return "\n".join(lines) + "\n"
