"""The report's PNG plots, one panel per task: loss curves, accuracy against training time, step time, and for
tasks with slices, held-out accuracy against the slice (e.g. string length: the picture of length generalisation).

Drawn on matplotlib's Agg canvas through `Figure` directly, never pyplot: no display is needed and no
global backend state is touched. (This module is imported only to draw, so matplotlib is imported at its top.)
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter

from ..results.files import replaced_atomically
from ..results.load import load_curves, load_runs, load_samples, load_slices
from ..results.naming import variant_name, varying_settings
from ..results.schema import VARIANT_COLUMNS

if TYPE_CHECKING:
    import pandas
    from matplotlib.axes import Axes
    from matplotlib.text import Text

DPI = 100
PAD = 4.0  # pixels between labels and the figure's edge or another axes' labels (constrained layout's 3/72 inch)
STEP_SAMPLES = "step_ms"  # samples.csv's metric for training steps
Panel = Callable[["Axes", str], None]


class PlainLogLabels(Formatter):
    """A log axis's tick labels as plain numbers (0.3, 2) on the ticks its own formatter labels: that one typesets
    them as math (3×10⁻¹), a parse of tens of milliseconds each."""

    def __init__(self, chooser: Formatter) -> None:
        self.chooser = chooser

    def set_locs(self, locs: list[float]) -> None:
        self.chooser.set_locs(locs)

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:g}" if self.chooser(x, pos) else ""


def panel_figure(tasks: list[str], draw: Panel, title: str) -> Figure:
    """A figure of one panel per task (two a row) under `title`, laid out so that no label is clipped."""
    columns = min(2, max(1, len(tasks)))
    rows = max(1, math.ceil(len(tasks) / columns))
    fig = Figure(figsize=(6.5 * columns, 4.2 * rows), dpi=DPI)
    heading = fig.suptitle(title, va="top")
    grid = fig.subplots(rows, columns, squeeze=False)
    axes = grid.ravel()
    for ax, task in zip(axes, tasks):
        # Placed where matplotlib would put it over bottom ticks; left to itself it measures every y tick label
        # again at each draw to look for a clash.
        ax.set_title(task, y=1.0)
        draw(ax, task)
    for ax in axes[len(tasks):]:
        ax.set_visible(False)
    if not tasks:
        axes[0].set_visible(True)
        axes[0].text(0.5, 0.5, "no rows recorded", ha="center", va="center", transform=axes[0].transAxes)
    _fit_labels(fig, grid, heading)
    return fig


def _fit_labels(fig: Figure, grid: numpy.ndarray, heading: Text) -> None:
    """Margins and gaps just wide enough for what sticks out of each axes (tick labels, axis labels, its title),
    measured once: constrained layout finds the same room but measures every label twice more per figure, most of
    the plots' time. Legends sit inside their axes and take no room."""
    renderer = FigureCanvasAgg(fig).get_renderer()
    rows, columns = grid.shape
    left, right, top, bottom = ([0.0] * columns, [0.0] * columns, [0.0] * rows, [0.0] * rows)
    for index, ax in enumerate(grid.ravel()):
        row, column = divmod(index, columns)
        if ax.get_visible():
            frame, labelled = ax.get_window_extent(renderer), ax.get_tightbbox(renderer, bbox_extra_artists=[])
            left[column] = max(left[column], frame.x0 - labelled.x0)
            right[column] = max(right[column], labelled.x1 - frame.x1)
            top[row] = max(top[row], labelled.y1 - frame.y1)
            bottom[row] = max(bottom[row], frame.y0 - labelled.y0)
    width, height = fig.bbox.width, fig.bbox.height
    heading.set_y(1 - PAD / height)
    header = PAD + heading.get_window_extent(renderer).height + PAD
    across = max((right[c] + left[c + 1] for c in range(columns - 1)), default=0.0) + PAD
    down = max((bottom[r] + top[r + 1] for r in range(rows - 1)), default=0.0) + PAD
    frame_width = (width - left[0] - right[-1] - 2 * PAD - (columns - 1) * across) / columns
    frame_height = (height - header - top[0] - bottom[-1] - PAD - (rows - 1) * down) / rows
    fig.subplots_adjust(left=(PAD + left[0]) / width, right=1 - (PAD + right[-1]) / width,
                        top=1 - (header + top[0]) / height, bottom=(PAD + bottom[-1]) / height,
                        wspace=across / frame_width, hspace=down / frame_height)


def _save(fig: Figure, path: Path) -> Path:
    with replaced_atomically(path) as temporary:
        # zlib's fastest level: half the encoding time of the default for files a tenth larger, pixels the same
        fig.savefig(temporary, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return path


def _legend(ax: Axes) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "nothing recorded", ha="center", va="center", transform=ax.transAxes)


def _by_variant(rows: pandas.DataFrame, records: pandas.DataFrame | None) -> list[tuple[pandas.DataFrame,
                                                                                    pandas.DataFrame | None]]:
    """Each variant's rows (in variant order) beside its seeds' `records` (curves or samples; None without them),
    matched by numbering both tables' (variant, seed) keys in one grouping: a merge on those columns costs ten times
    as much."""
    import pandas

    variant_of = rows.groupby(VARIANT_COLUMNS, sort=True, dropna=False).ngroup()
    grouped = rows.groupby(variant_of, sort=True)
    if records is None:
        return [(variant, None) for _, variant in grouped]
    keys = [column for column in (*VARIANT_COLUMNS, "seed") if column in records]  # older files lack settings
    key_of = pandas.concat([rows[keys], records[keys]], ignore_index=True).groupby(
        keys, sort=False, dropna=False).ngroup().to_numpy()
    variant_by_key = numpy.full(key_of.max() + 1, -1)  # -1: records of no row here (e.g. a seed that failed)
    variant_by_key[key_of[:len(rows)]] = variant_of.to_numpy()
    own = dict(tuple(records.groupby(variant_by_key[key_of[len(rows):]])))
    return [(variant, own.get(index, records.iloc[:0])) for index, variant in grouped]


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
                for axis_formatter, set_formatter in ((ax.yaxis.get_major_formatter(), ax.yaxis.set_major_formatter),
                                                      (ax.yaxis.get_minor_formatter(), ax.yaxis.set_minor_formatter)):
                    set_formatter(PlainLogLabels(axis_formatter))
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
        swept = varying_settings(rows)
        for variant, own in _by_variant(rows, paths):
            points = ax.scatter(variant["train_seconds"], variant[column], label=variant_name(variant.iloc[0], swept))
            if own is None or not (own["metric"] == "train_seconds").any():
                continue
            # Each seed's epochs as rows, its metrics as columns (a seed's mean where an epoch repeats one).
            table = own.groupby(["seed", "epoch", "metric"])["value"].mean().unstack("metric").dropna(how="all")
            for _, path in table.groupby(level="seed"):
                if column in path and path[column].notna().any():
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
    ok = runs[(runs["task"] == task) & (runs["status"] == "ok")].dropna(subset=["step_ms_median"])
    steps = None if samples is None else samples[(samples["task"] == task) & (samples["metric"] == STEP_SAMPLES)]
    swept = varying_settings(ok)
    quartiles = []
    for variant, own in _by_variant(ok, steps):
        if own is not None and not own.empty:
            q1, median, q3 = numpy.percentile(own["value"], [25, 50, 75])
        else:
            median = float(variant["step_ms_median"].median())
            half = float(variant["step_ms_iqr"].median()) / 2 if "step_ms_iqr" in variant else 0.0
            q1, q3 = median - half, median + half
        quartiles.append((variant_name(variant.iloc[0], swept), float(q1), float(median), float(q3)))
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
    return [_save(panel_figure(shown, draw, title), run_dir / name) for shown, name, draw, title in plots]


def draw_run_plots(run_dir: Path, runs: pandas.DataFrame | None = None) -> list[Path]:
    """`draw_plots` for the tables in the run folder `run_dir` (`runs`: its runs.csv, where already read)."""
    return draw_plots(load_runs(run_dir / "runs.csv") if runs is None else runs, load_curves(run_dir / "curves.csv"),
                      load_samples(run_dir / "samples.csv"), run_dir, load_slices(run_dir / "slices.csv"))


def warm_up() -> None:
    """Draw a throwaway figure: matplotlib's first drawing loads fonts and fills caches (about 0.2 s here), which a
    worker pays before a run's plots are asked for."""
    figure = Figure(figsize=(2, 2), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot([1, 2], [1, 10], marker=".", label="warm-up")
    axes.set_yscale("log")
    axes.set_title("warm-up")
    axes.legend()
    figure.savefig(io.BytesIO(), format="png")
