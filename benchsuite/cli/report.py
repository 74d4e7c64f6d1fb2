"""`bench report RUN_DIR` and `bench best RUN_DIR`: a finished run's report (summary.md and plots), and its tuned
table (each variant's best setting, chosen on validation and reported on test) with a scoreboard."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
def report_command(run_dir: Path) -> None:
    """Write summary.md and PNG plots into RUN_DIR (made by `bench run`)."""
    from ..report.markdown import write_report

    for path in write_report(run_dir):
        click.echo(f"wrote {path}")


@click.command("best")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "md", "csv", "json"]), default="text", show_default=True,
              help="Output for people (text, md) or machines (csv, json).")
def best_command(run_dir: Path, fmt: str) -> None:
    """Per task x variant, the swept setting with the best mean validation figure over seeds, reported on test.

    Where a task has no test split the figures are selected and reported on validation, and marked optimistic.
    Then a scoreboard: each cell's tuned accuracy averaged over tasks, ranked.
    """
    from ..registry.provenance import selection_metrics
    from ..report.tuned import format_best
    from ..results.load import load_meta, load_runs

    runs = load_runs(run_dir / "runs.csv")
    click.echo(format_best(runs, fmt, selection_metrics(load_meta(run_dir / "meta.json"))), nl=False)
