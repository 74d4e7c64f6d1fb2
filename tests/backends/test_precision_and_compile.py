"""Training precision (autocast) and torch.compile: what the CPU can check of the GPU path."""
from __future__ import annotations

import csv
import shutil

import pytest
import torch

from benchsuite import CellConfig, get_cell, get_task
from benchsuite.backbones import open_session
from benchsuite.backends import TrainingSettings
from benchsuite.errors import BenchInputError
from benchsuite.execution.job import JobRequest, execute
from benchsuite.measurement.train import train
from benchsuite.planning.grid import Job
from benchsuite.planning.tasks import build_task
from benchsuite.registry.loading import get_registry
from helpers.cli import assert_bad_input, invoke
from helpers.runs import only_run_dir

APPLE_EPOCHS = 150


def head_output_dtypes(session) -> list[torch.dtype]:
    """The dtypes the model's head produces from here on (a forward hook records them)."""
    seen: list[torch.dtype] = []
    session.model.head.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    return seen


@pytest.mark.slow  # 150 epochs of bf16 emulated on a CPU without bf16 arithmetic
def test_bf16_autocast_on_the_cpu_learns_apple_and_computes_in_bf16() -> None:
    data = get_task("apple").build()
    # gru: this CPU's oneDNN has no bf16 LSTM kernel (an lstm row in bf16 here is an error that says so)
    session = open_session(get_cell("gru"), CellConfig(len(data.vocab), 16), data,
                           TrainingSettings(lr=0.05, precision="bf16"))
    dtypes = head_output_dtypes(session)
    result = train(session, APPLE_EPOCHS)
    assert result.status == "ok"
    assert set(dtypes) == {torch.bfloat16}  # the head's matrix product ran under autocast
    assert all(p.dtype == torch.float32 for p in session.model.parameters())  # weights stay fp32
    # Accuracy from an independent readout: the trained model's argmax against the task's own targets.
    logits = session.logits(data.x_train)
    assert (logits.argmax(-1) == data.y_train).all()


def test_a_row_records_its_precision() -> None:
    job = Job(task="apple", cell="rnn", backend="torch", num_layers=1, bidirectional=False, hidden_size=8, seed=0,
              settings={"lr": 0.05, "batch_size": None, "max_epochs": 3, "clip": None, "weight_decay": 0.0,
                        "steps": None},
              target=1.0)
    data = build_task(get_registry().task("apple"), {})
    outcome = execute(JobRequest(job, "cpu", precision="bf16"), data)
    assert outcome.row["status"] == "ok", outcome.row["error"]
    assert outcome.row["precision"] == "bf16"
    assert outcome.row["compile_seconds"] is None


def test_fp16_on_the_cpu_is_refused_with_the_way_out() -> None:
    with pytest.raises(BenchInputError, match="fp16 needs --device cuda.*bf16 or fp32"):
        TrainingSettings(lr=0.1, precision="fp16", device="cpu")
    with pytest.raises(BenchInputError, match="expected one of fp32, bf16, fp16"):
        TrainingSettings(lr=0.1, precision="fp8")


def has_cpu_compiler() -> str:
    """Why torch.compile cannot run here ("" when it can): inductor builds C++ on the CPU."""
    if not any(shutil.which(name) for name in ("g++", "c++", "clang++")):
        return "torch.compile on the CPU needs a C++ compiler (g++ or clang++); none is on PATH"
    return ""


@pytest.mark.slow  # compiling takes tens of seconds on a small CPU
@pytest.mark.skipif(bool(has_cpu_compiler()), reason=has_cpu_compiler())
def test_compile_happens_before_training_and_trains_like_eager() -> None:
    data = get_task("apple").build()

    def trained(compile: bool) -> tuple[object, list[float]]:
        session = open_session(get_cell("gru"), CellConfig(len(data.vocab), 8), data,
                               TrainingSettings(lr=0.05, compile=compile))
        losses = [record.loss for record in train(session, 5).curve]
        return session, losses

    compiled, compiled_losses = trained(True)
    eager, eager_losses = trained(False)
    assert compiled.compile_seconds > 0 and eager.compile_seconds is None
    # The compiled model's losses follow eager's (same weights, same data; kernels may round differently).
    assert compiled_losses == pytest.approx(eager_losses, rel=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA; scripts/gpu_check.sh runs these on a GPU")
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_cuda_precisions_learn_apple(precision: str) -> None:
    data = get_task("apple").build()
    session = open_session(get_cell("lstm"), CellConfig(len(data.vocab), 16), data,
                           TrainingSettings(lr=0.05, precision=precision, device="cuda"))
    result = train(session, APPLE_EPOCHS)
    assert result.status == "ok" and len(result.step_seconds) == APPLE_EPOCHS
    assert all(seconds > 0 for seconds in result.step_seconds)  # CUDA events timed every step
    assert (session.logits(data.x_train).argmax(-1) == data.y_train).all()


def test_cli_refuses_fp16_on_the_cpu(tmp_path) -> None:
    result = invoke("run", "--tasks", "apple", "--cells", "rnn", "--precision", "fp16", "--device", "cpu",
                    "--out", tmp_path)
    assert_bad_input(result, "--precision fp16 needs --device cuda", "bf16 or fp32")
    assert not list(tmp_path.iterdir())  # refused before any run folder


def test_cli_precision_reaches_every_row(tmp_path) -> None:
    result = invoke("run", "--tasks", "apple", "--cells", "rnn,gru", "--epochs", "2", "--precision", "bf16",
                    "--device", "cpu", "--out", tmp_path, "--no-report", "--quiet")
    assert result.exit_code == 0, result.output
    with open(only_run_dir(tmp_path) / "runs.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["cell"], row["status"], row["precision"], row["compile_seconds"]) for row in rows] == [
        ("rnn", "ok", "bf16", ""), ("gru", "ok", "bf16", "")]
