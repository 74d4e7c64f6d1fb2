"""The report's PNG plots, one panel per task: loss curves, accuracy against training time, step time, and for
tasks with slices, held-out accuracy against the slice (e.g. string length: the picture of length generalisation).

Drawn on matplotlib's Agg canvas through `Figure` directly, never pyplot: no display is needed and no
global backend state is touched.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..results.files import replaced_atomically
from ..results.naming import variant_name, varying_settings
from ..results.schema import VARIANT_COLUMNS

if TYPE_CHECKING:
    import pandas
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

STEP_SAMPLES = "step_ms"  # samples.csv's metric for training steps
Panel = Callable[["Axes", str], None]


def _figure(tasks: list[str], draw: Panel, title: str) -> Figure:
    from matplotlib.figure import Figure

    columns = min(2, max(1, len(tasks)))
    rows = max(1, math.ceil(len(tasks) / columns))
    fig = Figure(figsize=(6.5 * columns, 4.2 * rows), layout="constrained")
    fig.suptitle(title)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, task in zip(axes, tasks):
        ax.set_title(task)
        draw(ax, task)
    for ax in axes[len(tasks):]:
        ax.set_visible(False)
    if not tasks:
        axes[0].set_visible(True)
        axes[0].text(0.5, 0.5, "no rows recorded", ha="center", va="center", transform=axes[0].transAxes)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    with replaced_atomically(path) as temporary:
        fig.savefig(temporary, format="png", dpi=100)
    return path


def _legend(ax: Axes) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "nothing recorded", ha="center", va="center", transform=ax.transAxes)


def _by_variant(rows: pandas.DataFrame, records: pandas.DataFrame | None) -> list[tuple[pandas.DataFrame,
                                                                                    pandas.DataFrame | None]]:
    """Each variant's rows (in variant order) beside its seeds' `records` (curves or samples; None without them),
    matched in one merge: a merge per variant costs a report of many variants most of a second."""
    variant_of = rows.groupby(VARIANT_COLUMNS, sort=True, dropna=False).ngroup().rename("variant_index")
    grouped = rows.groupby(variant_of, sort=True)
    if records is None:
        return [(variant, None) for _, variant in grouped]
    matched = records.merge(rows[[*VARIANT_COLUMNS, "seed"]].join(variant_of))
    own = dict(tuple(matched.groupby("variant_index")))
    return [(variant, own.get(index, matched.iloc[:0])) for index, variant in grouped]


def loss_panel(runs: pandas.DataFrame, curves: pandas.DataFrame | None) -> Panel:
    """Training loss by epoch, one line per variant (mean over its ok seeds, as the report's figures are)."""
    def draw(ax: Axes, task: str) -> None:
        ok = runs.loc[(runs["task"] == task) & (runs["status"] == "ok"), [*VARIANT_COLUMNS, "seed"]]
        losses = None if curves is None else curves[curves["metric"] == "loss"].merge(ok)
        swept = varying_settings(ok)
        if losses is not None and not losses.empty:
            for _, variant in losses.groupby(VARIANT_COLUMNS, sort=True, dropna=False):
                mean = variant.groupby("epoch")["value"].mean()
                ax.plot(mean.index, mean.to_numpy(), label=variant_name(variant.iloc[0], swept))
            if (losses["value"] > 0).all():
                ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        _legend(ax)

    return draw


def accuracy_panel(runs: pandas.DataFrame, curves: pandas.DataFrame | None) -> Panel:
    """Accuracy (held-out where the task has a split) against training time: each ok row's final point, and
    its path there epoch by epoch, where curves.csv records the training time per epoch."""
    def draw(ax: Axes, task: str) -> None:
        rows = runs[(runs["task"] == task) & (runs["status"] == "ok")]
        held_out = "valid_accuracy" in rows and rows["valid_accuracy"].notna().any()
        column = "valid_accuracy" if held_out else "accuracy"
        paths = None if curves is None else curves[curves["task"] == task]
        for variant, own in _by_variant(rows, paths):
            name = variant_name(variant.iloc[0], varying_settings(rows))
            points = ax.scatter(variant["train_seconds"], variant[column], label=name)
            if own is None or not (own["metric"] == "train_seconds").any():
                continue
            for _, seed in own.groupby("seed"):
                path = seed.pivot_table(index="epoch", columns="metric", values="value")
                if column in path:
                    ax.plot(path["train_seconds"], path[column], color=points.get_facecolor()[0], alpha=0.5)
        _reference_lines(ax, runs, task)
        ax.set_xlabel("training time (s)")
        ax.set_ylabel("held-out accuracy" if held_out else "training accuracy")
        _legend(ax)

    return draw


def step_quartiles(runs: pandas.DataFrame, samples: pandas.DataFrame | None,
                   task: str) -> list[tuple[str, float, float, float]]:
    """(variant, q1, median, q3) of step time per variant: from samples.csv if recorded, else from the rows.

    Rows keep only the median and the IQR's width, not the quartiles, so then the whisker is centred on the median.
    """
    import numpy

    ok = runs[(runs["task"] == task) & (runs["status"] == "ok")].dropna(subset=["step_ms_median"])
    steps = None if samples is None else samples[(samples["task"] == task) & (samples["metric"] == STEP_SAMPLES)]
    quartiles = []
    for variant, own in _by_variant(ok, steps):
        if own is not None and not own.empty:
            q1, median, q3 = numpy.percentile(own["value"], [25, 50, 75])
        else:
            median = float(variant["step_ms_median"].median())
            half = float(variant["step_ms_iqr"].median()) / 2 if "step_ms_iqr" in variant else 0.0
            q1, q3 = median - half, median + half
        quartiles.append((variant_name(variant.iloc[0], varying_settings(ok)), float(q1), float(median), float(q3)))
    return quartiles


def step_panel(runs: pandas.DataFrame, samples: pandas.DataFrame | None) -> Panel:
    """Median step time per variant with interquartile whiskers."""
    def draw(ax: Axes, task: str) -> None:
        quartiles = step_quartiles(runs, samples, task)
        for position, (name, q1, median, q3) in enumerate(quartiles):
            ax.errorbar([median], [position], xerr=[[median - q1], [q3 - median]], fmt="o", capsize=4, label=name)
        ax.set_xlabel("step time (ms), median and IQR")
        ax.set_xlim(left=0)
        if quartiles:
            ax.set_yticks(range(len(quartiles)), [name for name, *_ in quartiles])
            ax.set_ylim(len(quartiles) - 0.5, -0.5)  # first variant on top, half a row of margin
        else:
            ax.text(0.5, 0.5, "nothing recorded", ha="center", va="center", transform=ax.transAxes)

    return draw


def _reference_lines(ax: Axes, runs: pandas.DataFrame, task: str) -> None:
    """The task's ceiling and chance as dashed lines, where the rows state them."""
    for column, style in (("ceiling", "--"), ("chance", ":")):
        values = runs.loc[runs["task"] == task, column].dropna() if column in runs else []
        if len(values):
            ax.axhline(float(values.iloc[0]), color="grey", linestyle=style, label=column)


def slice_panel(runs: pandas.DataFrame, slices: pandas.DataFrame) -> Panel:
    """Held-out accuracy per slice, one line per variant (mean over its ok seeds), on the test split where the
    task has one, else on validation."""
    def draw(ax: Axes, task: str) -> None:
        ok = runs.loc[(runs["task"] == task) & (runs["status"] == "ok"), [*VARIANT_COLUMNS, "seed"]]
        own = slices[slices["task"] == task].merge(ok)
        split = "test" if (own["split"] == "test").any() else "valid"
        own = own[own["split"] == split]
        for _, variant in own.groupby(VARIANT_COLUMNS, sort=True):
            mean = variant.groupby("slice")["value"].mean()
            ax.plot(mean.index, mean.to_numpy(), marker=".", label=variant_name(variant.iloc[0]))
        _reference_lines(ax, runs, task)
        ax.set_xlabel(own["slice_name"].iloc[0] if len(own) else "slice")
        ax.set_ylabel(f"{split} accuracy")
        _legend(ax)

    return draw


def draw_plots(runs: pandas.DataFrame, curves: pandas.DataFrame | None, samples: pandas.DataFrame | None,
               run_dir: Path, slices: pandas.DataFrame | None = None) -> list[Path]:
    """Write loss_curves.png, accuracy_vs_time.png and step_time.png into `run_dir`, and accuracy_by_slice.png
    where some task has slices."""
    tasks = sorted(runs["task"].unique())
    plots = [(tasks, "loss_curves.png", loss_panel(runs, curves), "Training loss by epoch"),
             (tasks, "accuracy_vs_time.png", accuracy_panel(runs, curves), "Accuracy against training time"),
             (tasks, "step_time.png", step_panel(runs, samples), "Time per training step")]
    if slices is not None and not slices.empty:
        plots.append((sorted(slices["task"].unique()), "accuracy_by_slice.png", slice_panel(runs, slices),
                      "Held-out accuracy by slice"))
    return [_save(_figure(shown, draw, title), run_dir / name) for shown, name, draw, title in plots]
