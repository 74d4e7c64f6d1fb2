"""The trackers' side of exporting a run: MLflow, TensorBoard and W&B, each an `Exporter` writing to its own store.

`benchsuite.Exporter` maps rows to child runs and decides what to write; each class here only speaks its tracker.
A child's row key (`ExportedRow.key`) is a tag (MLflow), a file beside the events (TensorBoard) or the run id
(W&B), and a child counts as exported only once complete: MLflow's run finished, TensorBoard's and W&B's folders
moved into place after their writer closed. So an export cut short is redone, never doubled.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from benchsuite import BenchInputError, ExportedRow, Exporter

PROJECT = "benchsuite"  # MLflow's experiment and W&B's project the runs go to
ROW_FILE = "benchsuite-row.json"  # in a TensorBoard row's log folder: the row's key and tags
PARTIAL = ".partial"  # where TensorBoard and W&B write a row before it is complete


def _missing_extra(tracker: str, extra: str, exc: ImportError) -> BenchInputError:
    return BenchInputError(f"the {extra} exporter needs {tracker}, which is not installed ({exc}); install it with: "
                           f"pip install 'benchsuite[{extra}]'")


def _writable_folder(destination: str, exporter: str) -> Path:
    """`destination` as a folder made if missing; one that cannot be written is bad input."""
    folder = Path(destination).expanduser().resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".benchsuite-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise BenchInputError(f"the {exporter} exporter cannot write to {destination}: {exc.strerror or exc}; "
                              "name a folder that can be written") from None
    return folder


def _remove_empty(folder: Path, root: Path) -> None:
    """Remove `folder` (where rows wait until complete) and its parents below `root` while they are empty."""
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


class MlflowExporter(Exporter):
    """MLflow: a parent run per run folder and a nested child run per row, in the experiment `benchsuite` of the
    tracking store `destination` (a URI, or a file path taken as a SQLite store, made if missing)."""

    def __init__(self, destination: str) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as exc:
            raise _missing_extra("mlflow-skinny", "mlflow", exc) from None
        artifacts = None
        if "://" not in destination:  # a file: SQLite, with the artifacts in a folder beside it
            database = _writable_folder(str(Path(destination).expanduser().resolve().parent), "mlflow") / Path(
                destination).name
            destination, artifacts = f"sqlite:///{database}", (database.parent / "mlartifacts").as_uri()
        super().__init__(destination)
        self.client = MlflowClient(tracking_uri=destination)
        try:  # the store is made (or migrated) here: one that cannot be is bad input, before the run starts
            experiment = self.client.get_experiment_by_name(PROJECT)
            self.experiment = (experiment.experiment_id if experiment is not None else
                               self.client.create_experiment(PROJECT, artifact_location=artifacts))
        except Exception as exc:  # MLflow's errors differ by store (SQLAlchemy's, MlflowException, HTTP)
            raise BenchInputError(f"the mlflow exporter cannot use the tracking store {destination}: "
                                  f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None

    def _runs(self, query: str) -> list[Any]:
        runs, token = [], None
        while True:
            page = self.client.search_runs([self.experiment], query, max_results=1000, page_token=token)
            runs += list(page)
            token = page.token
            if not token:
                return runs

    def open_parent(self, run_dir: Path, meta: Mapping[str, Any]) -> str:
        found = [run for run in self._runs(f"tags.`{self.run_tag}` = '{run_dir.name}'")
                 if self.row_tag not in run.data.tags]
        if found:
            return found[0].info.run_id
        return self.client.create_run(self.experiment, run_name=run_dir.name,
                                      tags={self.run_tag: run_dir.name}).info.run_id

    def exported(self) -> set[str]:
        self.children: dict[str, list[str]] = {}
        done = set()
        for run in self._runs(f"tags.mlflow.parentRunId = '{self.parent}'"):
            key = run.data.tags.get(self.row_tag, "")
            self.children.setdefault(key, []).append(run.info.run_id)
            if run.info.status == "FINISHED":
                done.add(key)
        return done

    def discard(self, key: str) -> None:
        for run_id in self.children.pop(key, []):
            self.client.delete_run(run_id)

    def write_row(self, row: ExportedRow) -> None:
        from mlflow.entities import Metric, Param

        child = self.client.create_run(self.experiment, run_name=row.name,
                                       tags={**row.tags, "mlflow.parentRunId": self.parent}).info.run_id
        now = int(time.time() * 1000)
        metrics = [Metric(name, value, now, 0) for name, value in row.metrics.items()]
        metrics += [Metric(f"curve/{name}", value, now, epoch)
                    for name, points in row.curves.items() for epoch, value in points]
        params = [Param(name, str(value)) for name, value in row.params.items()]
        for start in range(0, max(len(metrics), len(params)), 100):  # MLflow takes at most 100 params a batch
            self.client.log_batch(child, metrics=metrics[start:start + 100], params=params[start:start + 100])
        self.client.set_terminated(child, "FINISHED")
        self.children[row.key] = [child]

    def write_files(self, files: Sequence[Path], run_dir: Path) -> None:
        for path in files:
            folder = str(path.parent.relative_to(run_dir))
            self.client.log_artifact(self.parent, str(path), artifact_path=None if folder == "." else folder)

    def close_parent(self) -> None:
        self.client.set_terminated(self.parent, "FINISHED")


class TensorBoardExporter(Exporter):
    """TensorBoard: under `destination`, a folder per run folder holding a log folder per row (its curves as
    `curve/NAME` scalars by epoch, its settings and figures as hparams in its own folder), and the run's files."""

    def __init__(self, destination: str) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package
        except ImportError as exc:
            raise _missing_extra("tensorboard", "tensorboard", exc) from None
        self.writer_class = SummaryWriter
        self.root = _writable_folder(destination, "tensorboard")
        super().__init__(str(self.root))

    def open_parent(self, run_dir: Path, meta: Mapping[str, Any]) -> str:
        self.folder, self.partial = self.root / run_dir.name, self.root / PARTIAL / run_dir.name
        self.folder.mkdir(exist_ok=True)
        return str(self.folder)

    def _row_folders(self) -> dict[str, Path]:
        """Each complete row's log folder, by key."""
        folders = {}
        for marker in self.folder.glob(f"*/{ROW_FILE}"):
            folders[json.loads(marker.read_text(encoding="utf-8"))["key"]] = marker.parent
        return folders

    def exported(self) -> set[str]:
        return set(self._row_folders())

    def discard(self, key: str) -> None:
        for folder in (self._row_folders().get(key), self.partial / key):
            if folder is not None and folder.exists():
                shutil.rmtree(folder)

    def write_row(self, row: ExportedRow) -> None:
        partial = self.partial / row.key
        hparams = {name: value if isinstance(value, (bool, int, float, str)) else str(value)
                   for name, value in {**row.tags, **row.params}.items()}
        with self.writer_class(log_dir=str(partial)) as writer:
            for name, points in row.curves.items():
                for epoch, value in points:
                    writer.add_scalar(f"curve/{name}", value, epoch)
            writer.add_hparams(hparams, row.metrics, run_name=".")  # "." keeps them in the row's own folder
        (partial / ROW_FILE).write_text(json.dumps({"key": row.key, "tags": row.tags}), encoding="utf-8")
        partial.rename(self.folder / row.name.replace("/", "_"))  # complete: the row is there whole or not at all
        _remove_empty(self.partial, self.root)

    def write_files(self, files: Sequence[Path], run_dir: Path) -> None:
        for path in files:
            target = self.folder / "files" / path.relative_to(run_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


class WandbExporter(Exporter):
    """Weights & Biases: a run per row in the project `benchsuite`, grouped by variant (so W&B draws the band over
    its seeds), its curves as `curve/NAME` by epoch, and a run per run folder holding its files as an artifact.
    Offline unless WANDB_MODE says otherwise: the runs are written under `destination`/wandb (`wandb sync` uploads
    them)."""

    def __init__(self, destination: str) -> None:
        try:
            import wandb
        except ImportError as exc:
            raise _missing_extra("wandb", "wandb", exc) from None
        self.wandb = wandb
        self.root = _writable_folder(destination, "wandb")
        self.runs = self.root / "wandb"
        super().__init__(str(self.root))

    def open_parent(self, run_dir: Path, meta: Mapping[str, Any]) -> str:
        self.run_name, self.partial = run_dir.name, self.root / PARTIAL
        return hashlib.sha1(f"run folder {run_dir.name}".encode()).hexdigest()[:16]

    def exported(self) -> set[str]:
        return {folder.name.rsplit("-", 1)[1] for folder in self.runs.glob("*run-*-*")}  # (offline-)run-TIME-ID

    def discard(self, key: str) -> None:
        for folder in [*self.runs.glob(f"*run-*-{key}"), self.partial / key]:
            if folder.exists():
                shutil.rmtree(folder)

    def _write_run(self, key: str, write: Any, **init: Any) -> None:
        """One W&B run with id `key`, written by `write(run)` into a folder of its own, then moved into place."""
        partial = self.partial / key
        partial.mkdir(parents=True, exist_ok=True)
        settings = self.wandb.Settings(silent=True, console="off", x_disable_stats=True, x_disable_machine_info=True)
        with self.wandb.init(project=PROJECT, id=key, dir=str(partial), mode=os.environ.get("WANDB_MODE", "offline"),
                             settings=settings, reinit="create_new", **init) as run:
            write(run)
        self.runs.mkdir(exist_ok=True)
        for folder in (partial / "wandb").glob(f"*run-*-{key}"):
            folder.rename(self.runs / folder.name)
        shutil.rmtree(partial)
        _remove_empty(self.partial, self.root)

    def write_row(self, row: ExportedRow) -> None:
        def write(run: Any) -> None:
            by_epoch: dict[int, dict[str, float]] = {}
            for name, points in row.curves.items():
                for epoch, value in points:
                    by_epoch.setdefault(epoch, {})[f"curve/{name}"] = value
            for epoch in sorted(by_epoch):
                run.log(by_epoch[epoch], step=epoch)
            run.summary.update(row.metrics)

        self._write_run(row.key, write, name=row.name, group=row.variant, job_type="row",
                        config={**row.tags, **row.params},
                        tags=[f"{name}={value}"[:64] for name, value in row.tags.items()])

    def write_files(self, files: Sequence[Path], run_dir: Path) -> None:
        def write(run: Any) -> None:
            artifact = self.wandb.Artifact(f"run-{self.run_name}", type="run-folder")
            for path in files:
                artifact.add_file(str(path), name=str(path.relative_to(run_dir)))
            run.log_artifact(artifact)

        self.discard(self.parent)
        self._write_run(self.parent, write, name=self.run_name, job_type="run-folder",
                        config={self.run_tag: self.run_name})
