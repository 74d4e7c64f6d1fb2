"""`bench export`: send a run folder to experiment trackers (MLflow, TensorBoard, W&B, or a plugin's)."""
from __future__ import annotations

import sys

import click

from ..errors import BenchInputError


@click.command("export")
@click.argument("run_dir")
@click.option("--to", "trackers", required=True, metavar="NAME[,NAME]",
              help="Exporters: mlflow, tensorboard, wandb (each needs its extra: pip install 'benchsuite[mlflow]'), "
                   "or a plugin's (see `bench plugins`).")
@click.option("--uri", default=None, help="MLflow's tracking URI, or a SQLite file [default: mlflow.db beside the run "
                                          "folder].")
@click.option("--dir", "folder", default=None, help="The log folder of TensorBoard or W&B [default: tensorboard/ or "
                                                    "wandb/ beside the run folder].")
@click.option("--plugins-dir", default=None, help="Also load every *.py plugin file in this folder.")
def export_command(run_dir: str, trackers: str, uri: str | None, folder: str | None, plugins_dir: str | None) -> None:
    """Export RUN_DIR to experiment trackers: the run as a parent, each row a child run with its settings, curves
    and figures, the run's files as artifacts. Exporting again adds only the rows the store lacks."""
    from ..planning.parsers import parse_names
    from ..registry.loading import get_registry
    from ..sinks.export import export_run

    if uri is not None and folder is not None:
        raise BenchInputError("--uri and --dir both say where to export; give one (--uri for MLflow, --dir for "
                              "TensorBoard and W&B)")
    where = uri or folder
    names = parse_names(trackers, "--to")
    try:
        result, exported = export_run(run_dir, [f"{name}={where}" if where else name for name in names],
                                      get_registry(plugins_dir))
    except BenchInputError:
        raise
    except Exception as exc:  # the tracker failed midway (a server gone, a full disk): one line; what it holds stays
        message = str(exc).strip().splitlines()
        click.echo(f"error: the export stopped: {type(exc).__name__}: {message[0] if message else ''}. Export again "
                   "to finish: it adds only what the store lacks", err=True)
        sys.exit(1)
    for exporter in exported:
        click.echo(f"{exporter.name}: {len(result.runs)} rows of {result.run_dir} in {exporter.sink.destination} "
                   f"(parent run {exporter.sink.parent})")
