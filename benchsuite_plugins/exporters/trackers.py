"""The built-in experiment trackers a run exports to: MLflow, TensorBoard and Weights & Biases.

Each needs its pip extra; its library (and `stores.py`) is imported only when a run is exported, so `bench --help`
and `bench list` stay fast.
"""
from __future__ import annotations

from benchsuite import ExporterSpec, Sink, hookimpl


def open_mlflow(destination: str) -> Sink:
    from .stores import MlflowExporter

    return MlflowExporter(destination)


def open_tensorboard(destination: str) -> Sink:
    from .stores import TensorBoardExporter

    return TensorBoardExporter(destination)


def open_wandb(destination: str) -> Sink:
    from .stores import WandbExporter

    return WandbExporter(destination)


@hookimpl
def register_exporters(register):
    register(ExporterSpec("mlflow", open_mlflow, "MLflow tracking store: a tracking URI, or a SQLite file",
                          extra="mlflow", default_destination="mlflow.db"))
    register(ExporterSpec("tensorboard", open_tensorboard, "TensorBoard event files: a log folder, one per row",
                          extra="tensorboard", default_destination="tensorboard"))
    register(ExporterSpec("wandb", open_wandb, "Weights & Biases runs (offline unless WANDB_MODE says otherwise): "
                          "a folder", extra="wandb", default_destination="wandb"))
