"""`bench report`: summary.md figures checked against the CSV, plots opened as images, report.html's content,
atomic replacement."""
from __future__ import annotations

import base64
import csv
import io
import json
import re
import statistics
from html.parser import HTMLParser
from pathlib import Path

import numpy
import pandas
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.transforms import Bbox
from PIL import Image, ImageStat

from benchsuite.report.markdown import summary_markdown
from benchsuite.report.plots import step_quartiles
from benchsuite.results.files import replaced_atomically, write_text_atomic
from benchsuite.results.load import load_runs, load_samples
from helpers.cli import assert_bad_input, invoke
from helpers.fixture_files import COMPARE_FIXTURES, copy_fixture

PLOTS = ["loss_curves.png", "accuracy_vs_time.png", "step_time.png"]


def table_rows(summary: str, task: str) -> dict[str, list[str]]:
    """The Markdown table under `## task`, by variant name: its cells, stripped."""
    section = summary.split(f"## {task}\n")[1].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells))
    return rows


def ok_values(runs_csv: Path, task: str, cell: str, column: str) -> list[float]:
    with open(runs_csv, newline="") as handle:
        return [float(row[column]) for row in csv.DictReader(handle)
                if row["task"] == task and row["cell"] == cell and row["status"] == "ok"]


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """One report, drawn once for the tests that read it, over a stale summary and plot it must replace."""
    run = copy_fixture("worse", tmp_path_factory.mktemp("report"))
    (run / "summary.md").write_text("stale")
    (run / PLOTS[0]).write_text("stale")
    result = invoke("report", run)
    assert result.exit_code == 0, result.output
    return run, result


def test_report_writes_summary_and_three_plots_that_open_as_images(reported):
    run, result = reported
    assert (run / "summary.md").is_file()
    for name in PLOTS:
        assert f"wrote {run / name}" in result.stdout
        with Image.open(run / name) as image:
            assert image.format == "PNG"
            assert image.width >= 600 and image.height >= 300
            # Not a blank canvas: lines and markers make the pixels vary.
            assert max(ImageStat.Stat(image.convert("L")).stddev) > 5
    assert not list(run.glob(".*.tmp")), "temporary files left behind"


def test_summary_shows_means_over_ok_seeds_and_marks_the_best(reported):
    run, _ = reported
    summary = (run / "summary.md").read_text()
    ship = table_rows(summary, "ship")
    gru_accuracy = ok_values(run / "runs.csv", "ship", "gru", "accuracy")
    lstm_accuracy = ok_values(run / "runs.csv", "ship", "lstm", "accuracy")
    assert ship["gru 2L uni h25"]["accuracy"].startswith(f"{statistics.mean(gru_accuracy):.4g} ± "
                                                         f"{statistics.stdev(gru_accuracy):.4g}")
    # lstm's mean accuracy (0.6255) beats gru's (0.5741): only lstm's is bold.
    assert ship["lstm 2L uni h25"]["accuracy"].startswith("**")
    assert not ship["gru 2L uni h25"]["accuracy"].startswith("**")
    assert statistics.mean(lstm_accuracy) > statistics.mean(gru_accuracy)
    # Lower is better for losses and times.
    gru_loss = statistics.mean(ok_values(run / "runs.csv", "ship", "gru", "final_loss"))
    lstm_loss = statistics.mean(ok_values(run / "runs.csv", "ship", "lstm", "final_loss"))
    best_loss = "gru 2L uni h25" if gru_loss < lstm_loss else "lstm 2L uni h25"
    assert ship[best_loss]["final_loss"].startswith("**")


def test_summary_counts_ok_seeds_lists_failures_and_shows_the_ceiling(reported):
    run, _ = reported
    summary = (run / "summary.md").read_text()
    apple = table_rows(summary, "apple")
    assert apple["rnn 1L uni h5"]["seeds"] == "ok:2 error:1"
    assert apple["gru 1L uni h5"]["params"] == "220"
    assert "- rnn 1L uni h5 seed 1: error: RuntimeError: shape mismatch in forward" in summary
    assert "ceiling: 1 (the best accuracy" in summary.split("## apple")[1]
    assert "ceiling: not known" in summary.split("## ship")[1]
    assert "torch 2.12.0+cpu" in summary
    for name in PLOTS:
        assert f"![{name}]({name})" in summary


@pytest.mark.parametrize("metric,higher_is_better", [
    ("peak_memory_mb", False), ("chars_per_second", True), ("infer_ms_median", False), ("step_ms_median", False)])
def test_summary_marks_the_best_of_extra_columns_in_their_direction(metric, higher_is_better):
    run = COMPARE_FIXTURES / "extended_b"
    apple = table_rows(summary_markdown("extended_b", load_runs(run / "runs.csv"), None, []), "apple")
    means = {f"{cell} 1L uni h5": statistics.mean(ok_values(run / "runs.csv", "apple", cell, metric))
             for cell in ("rnn", "lstm")}
    best = (max if higher_is_better else min)(means, key=means.get)
    assert {name for name in means if apple[name][metric].startswith("**")} == {best}
    shown_mean = float(apple[best][metric].strip("*").split(" ± ")[0])
    assert shown_mean == pytest.approx(means[best], rel=1e-3)  # four significant digits shown


def test_summary_says_never_for_a_target_no_seed_reached():
    run = COMPARE_FIXTURES / "extended_b"
    apple = table_rows(summary_markdown("extended_b", load_runs(run / "runs.csv"), None, []), "apple")
    assert apple["lstm 1L uni h5"]["epochs_to_target"] == "never"
    rnn_epochs = ok_values(run / "runs.csv", "apple", "rnn", "epochs_to_target")
    assert apple["rnn 1L uni h5"]["epochs_to_target"].strip("*") == f"{statistics.mean(rnn_epochs):.4g}"


def test_step_time_whiskers_are_quartiles_of_the_per_step_samples():
    run = COMPARE_FIXTURES / "extended_a"
    with open(run / "samples.csv", newline="") as handle:
        samples = [float(row["value"]) for row in csv.DictReader(handle)
                   if row["cell"] == "lstm" and row["metric"] == "step_ms" and row["warmup"] == "False"]
    quartiles = {name: rest for name, *rest in step_quartiles(load_runs(run / "runs.csv"),
                                                               load_samples(run / "samples.csv"), "apple")}
    assert quartiles["lstm 1L uni h5"] == pytest.approx(list(numpy.percentile(samples, [25, 50, 75])))


def test_report_replaced_the_stale_files(reported):
    run, _ = reported
    assert (run / "summary.md").read_text().startswith("# benchsuite report: worse")
    with Image.open(run / PLOTS[0]) as image:
        assert image.format == "PNG"


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "summary.md"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with replaced_atomically(target) as temporary:
            temporary.write_text("half a fi")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["summary.md"]
    write_text_atomic(target, "new")
    assert target.read_text() == "new"


def test_report_on_a_folder_without_runs_is_bad_input(tmp_path):
    assert_bad_input(invoke("report", tmp_path), "runs.csv: no such file")


def test_loss_curves_average_only_the_seeds_that_finished_ok() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas

    from benchsuite.report.plots import loss_panel
    from benchsuite.results.schema import NEUTRAL_SETTINGS

    variant = {"task": "apple", "cell": "rnn", "backend": "torch", "num_layers": 1, "bidirectional": False,
               "hidden_size": 5,
               "lr": 0.1, "batch_size": 1, "max_epochs": 2, **NEUTRAL_SETTINGS}
    runs = pandas.DataFrame([{**variant, "seed": 0, "status": "ok"}, {**variant, "seed": 1, "status": "diverged"}])
    curves = pandas.DataFrame([{**variant, "seed": seed, "epoch": epoch, "metric": "loss", "value": value}
                               for seed, values in ((0, [2.0, 1.0]), (1, [2.0, float("inf")]))
                               for epoch, value in enumerate(values, start=1)])
    figure, ax = plt.subplots()
    loss_panel(runs, curves)(ax, "apple")
    (line,) = ax.get_lines()
    assert list(line.get_ydata()) == [2.0, 1.0]  # the diverged seed's infinite loss is not averaged in
    plt.close(figure)


class PageParts(HTMLParser):
    """What a page holds: every URL it names, its tables' cell texts, its scripts' count and its visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.scripts = 0
        self.text: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href", "action", "data")]
        self.scripts += tag == "script"
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def markdown_tables(markdown: str) -> list[list[list[str]]]:
    """summary.md's tables as cell texts: rows split on unescaped pipes, Markdown's escapes and bold removed."""
    tables, current = [], None
    for line in markdown.splitlines():
        if not line.startswith("| "):
            current = None
            continue
        cells = [re.sub(r"\\(.)", r"\1", cell.strip()).removeprefix("**").removesuffix("**")
                 for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if set(cells) == {"---"}:
            continue
        if current is None:
            current = []
            tables.append(current)
        current.append(cells)
    return tables


def test_report_html_holds_the_summary_tables_the_plots_and_the_environment_offline(reported):
    run, result = reported
    assert f"wrote {run / 'report.html'}" in result.stdout
    page = PageParts()
    page.feed((run / "report.html").read_text())
    # Self-contained: every URL is inline data; the images are the plot files, byte for byte.
    assert page.urls and all(url.startswith("data:") for url in page.urls)
    images = [base64.b64decode(url.split(",", 1)[1]) for url in page.urls if url.startswith("data:image/png")]
    assert images == [(run / name).read_bytes() for name in PLOTS]
    assert page.scripts == 1
    meta = json.loads((run / "meta.json").read_text())
    *summary_tables, environment = page.tables
    assert summary_tables == markdown_tables((run / "summary.md").read_text())
    assert environment[1:] == [[key, value if isinstance(value, str) else json.dumps(value)]
                               for key, value in meta.items()]


def long_named_runs(tasks: list[str]) -> tuple[pandas.DataFrame, pandas.DataFrame]:
    """Rows of `tasks` whose step panel's y labels are long variant names (a long plugin cell name, swept lr), and
    their loss and accuracy curves (losses over three decades: a log axis with minor labels)."""
    from benchsuite.results.schema import NEUTRAL_SETTINGS

    rows, curves = [], []
    for task in tasks:
        for number, (cell, lr) in enumerate([("lstm", 0.1), ("a-cell-from-a-plugin-with-a-long-name", 0.001),
                                             ("gru", 0.01)]):
            variant = {"task": task, "cell": cell, "backend": "torch", "num_layers": 2, "bidirectional": True,
                       "hidden_size": 256, "lr": lr, "batch_size": 32, "max_epochs": 3, **NEUTRAL_SETTINGS,
                       "seed": 0}
            rows.append({**variant, "status": "ok", "accuracy": 0.5 + number / 10, "train_seconds": 2.0 + number,
                         "step_ms_median": 10.0 * (number + 1), "step_ms_iqr": 1.0})
            curves += [{**variant, "epoch": epoch, "metric": metric, "value": value}
                       for epoch in (1, 2, 3)
                       for metric, value in (("loss", 10.0 ** (1 - epoch) * (number + 1)),
                                             ("accuracy", 0.2 * epoch), ("train_seconds", 0.7 * epoch))]
    return pandas.DataFrame(rows), pandas.DataFrame(curves)


def drawn_tick_labels(axis, coordinate: int) -> list:
    """An axis's tick labels that are drawn: not blank, at a tick inside the axis's view (matplotlib keeps labels
    of ticks beyond it, undrawn)."""
    low, high = sorted(axis.get_view_interval())
    span = high - low
    return [label for label in axis.get_ticklabels(which="both") if label.get_visible() and label.get_text()
            and low - 1e-9 * span <= label.get_position()[coordinate] <= high + 1e-9 * span]


@pytest.mark.parametrize("tasks", [["apple"], ["apple", "ship"], ["apple", "ship", "copy"]])
def test_every_label_of_every_plot_is_inside_the_figure_and_clear_of_the_other_panels(tasks):
    """Checked by matplotlib's own extents of the drawn figure, not by the margins the layout computed."""
    from benchsuite.report.plots import accuracy_panel, loss_panel, panel_figure, step_panel

    runs, curves = long_named_runs(tasks)
    step = step_panel(runs, None)
    for panel in (loss_panel(runs, curves), accuracy_panel(runs, curves), step):
        figure = panel_figure(tasks, panel, "A title")
        canvas = FigureCanvasAgg(figure)
        canvas.draw()  # as savefig draws it
        renderer = canvas.get_renderer()
        page = figure.bbox.padded(0.5)  # half a pixel of rounding
        shown = [ax for ax in figure.axes if ax.get_visible()]
        assert len(shown) == len(tasks)
        labelled = []
        for ax in shown:
            texts = [text for text in (ax.title, ax.xaxis.label, ax.yaxis.label) if text.get_text()]
            texts += drawn_tick_labels(ax.xaxis, 0) + drawn_tick_labels(ax.yaxis, 1)
            for text in texts:
                extent = text.get_window_extent(renderer)
                assert page.containsx(extent.x0) and page.containsx(extent.x1), text.get_text()
                assert page.containsy(extent.y0) and page.containsy(extent.y1), text.get_text()
            if ax.get_legend():
                legend, frame = ax.get_legend().get_window_extent(renderer), ax.bbox.padded(0.5)
                assert frame.containsx(legend.x0) and frame.containsx(legend.x1)
                assert frame.containsy(legend.y0) and frame.containsy(legend.y1)
            labelled.append(Bbox.union([text.get_window_extent(renderer) for text in texts] + [ax.bbox]))
        heading = figure.texts[0].get_window_extent(renderer) if figure.texts else None
        for index, box in enumerate(labelled):
            assert not any(box.overlaps(other) for other in labelled[index + 1:])
            assert heading is None or not box.overlaps(heading)
        assert panel is not step or all(any(label.get_text().startswith("a-cell-from-a-plugin-with-a-long-name")
                                            for label in drawn_tick_labels(ax.yaxis, 1)) for ax in shown)


def test_log_loss_ticks_are_labelled_as_plain_numbers_where_matplotlib_labels_them():
    from matplotlib.figure import Figure
    from matplotlib.ticker import LogFormatterSciNotation

    from benchsuite.report.plots import loss_panel

    runs, curves = long_named_runs(["ship"])
    ax = Figure().subplots()
    loss_panel(runs, curves)(ax, "ship")
    assert ax.get_yscale() == "log"
    ax.figure.savefig(io.BytesIO(), format="png")
    for which, default in (("major", LogFormatterSciNotation()), ("minor", LogFormatterSciNotation(
            labelOnlyBase=False))):
        locations = ax.yaxis.get_majorticklocs() if which == "major" else ax.yaxis.get_minorticklocs()
        labels = [label.get_text() for label in ax.get_yticklabels(which=which)]
        default.set_axis(ax.yaxis)
        expected = default.format_ticks(list(locations))
        assert [bool(label) for label in labels] == [bool(text) for text in expected]
        assert [float(label) for label in labels if label] == pytest.approx(
            [location for location, label in zip(locations, labels) if label])
        assert not any("$" in label for label in labels)
