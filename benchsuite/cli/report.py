"""`bench report RUN_DIR`: summary.md and plots of a finished run."""
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
