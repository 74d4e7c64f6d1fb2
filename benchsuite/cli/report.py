"""`bench report RUN_DIR` and `bench best RUN_DIR`: a finished run's report (summary.md and plots), and its tuned
table (each variant's best setting, chosen on validation and reported on test) with a scoreboard."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import click

if TYPE_CHECKING:
    import pandas

PLUGINS_DIR = click.option(
    "--plugins-dir", default=None, metavar="DIR",
    help="Also load every *.py plugin file in this folder (the run's own, if it used one): a run folder's "
         "meta.json names a folder but never decides which code runs.")


def note_unloaded_tasks(runs: pandas.DataFrame, metrics: Mapping[str, str]) -> None:
    """On stderr: the run's tasks no loaded plugin has, selected by accuracy for that reason."""
    from ..registry.provenance import unloaded_tasks_note

    note = unloaded_tasks_note(runs["task"].astype(str).unique(), metrics)
    if note:
        click.echo(note, err=True)


@click.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@PLUGINS_DIR
def report_command(run_dir: Path, plugins_dir: str | None) -> None:
    """Write summary.md, report.html and PNG plots into RUN_DIR (made by `bench run`)."""
    from ..registry.provenance import selection_metrics
    from ..report.markdown import write_report
    from ..results.load import load_runs

    for path in write_report(run_dir, plugins_dir):
        click.echo(f"wrote {path}")
    note_unloaded_tasks(load_runs(run_dir / "runs.csv"), selection_metrics(plugins_dir))


@click.command("best")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "md", "csv", "json", "latex"]), default="text",
              show_default=True,
              help="Output for people (text, md), machines (csv, json) or papers (latex: a booktabs table of each "
                   "cell's tuned accuracy per task, mean ± std over seeds, the best of each task in bold).")
@PLUGINS_DIR
def best_command(run_dir: Path, fmt: str, plugins_dir: str | None) -> None:
    """Per task x variant, the swept setting with the best mean validation figure over seeds, reported on test.

    Where a task has no test split the figures are selected and reported on validation, and marked optimistic.
    Then a scoreboard: each cell's tuned accuracy averaged over tasks, ranked; the interquartile mean of its
    normalized accuracy over tasks and seeds with a 95% bootstrap confidence interval; and the probability that
    each cell beats each other.
    """
    from ..registry.provenance import selection_metrics
    from ..report.tuned import format_best
    from ..results.load import load_runs

    runs = load_runs(run_dir / "runs.csv")
    metrics = selection_metrics(plugins_dir)
    click.echo(format_best(runs, fmt, metrics), nl=False)
    note_unloaded_tasks(runs, metrics)
