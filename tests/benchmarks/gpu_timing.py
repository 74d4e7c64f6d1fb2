"""The timing parts of scripts/gpu_check.sh: is the harness free on a GPU, and where do the scan cells stand?

1. A DeepBench-sized LSTM (hidden 1024, batch 128, T 25, forward and backward) trained through the harness (the
   `stack` model around the `lstm` cell, one step per epoch) against the same model written by hand (nn.LSTM, which
   takes cuDNN on CUDA, a linear head, cross-entropy, Adam), both timed by the backend's step timer (CUDA events on
   the GPU). The harness's median step may cost at most MAX_HARNESS_RATIO times the hand-written one's.
2. One layer of each scan cell (mingru, minlstm, lru) against lstm, forward and backward, at T 512 and 2048.

Writes the figures as JSON (`--out`) and as a markdown page beside it, with the rows of the sweep that
scripts/gpu_check.sh ran before (`--sweep RUN_DIR`) and its CUDA tests' exit status (`--tests-rc`).
`--device cpu --quick` runs the same code at small sizes, as a smoke test.

    python tests/benchmarks/gpu_timing.py --device cuda --out results/gpu_check.json
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from benchsuite import CellConfig, get_cell
from benchsuite.backbones import open_session
from benchsuite.backends import HostStepTimer, StepTimer, TrainingSettings
from benchsuite.backends.torch_backend import CudaStepTimer
from benchsuite.measurement.train import train
from benchsuite.specs import TaskData

MAX_HARNESS_RATIO = 1.2
SCAN_CELLS = ("mingru", "minlstm", "lru")
# (hidden = input = vocabulary, batch, T, steps timed): DeepBench's LSTM training case, and a CPU-sized stand-in.
DEEPBENCH = {"full": (1024, 128, 25, 50), "quick": (32, 8, 10, 8)}
# (T values, batch, input, hidden, repeats) for the scan cells against lstm: the layer sizes.
SCANS = {"full": ((512, 2048), 32, 32, 128, 20), "quick": ((16, 32), 4, 8, 16, 3)}


def step_timer(device: torch.device) -> StepTimer:
    """The timer the harness uses on `device`, so hand-written loops are timed exactly as its steps are."""
    return CudaStepTimer() if device.type == "cuda" else HostStepTimer()


def median_ms(seconds: list[float], warmup: int = 2) -> float:
    """Median of the samples after the warm-up ones, in ms."""
    return statistics.median(seconds[warmup:]) * 1e3


def timed(step: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Median ms of `step` over `repeats` timed calls after two untimed ones."""
    timer = step_timer(device)
    for _ in range(repeats + 2):
        timer.start()
        step()
        timer.stop()
    return median_ms(timer.seconds())


def random_task(vocab: int, batch: int, steps: int, seed: int = 0) -> TaskData:
    """One batch of random characters predicting random next ones: a task whose only point is its shape."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, vocab, size=(batch, steps + 1))
    return TaskData(vocab=[chr(0x100 + code) for code in range(vocab)], x_train=codes[:, :-1], y_train=codes[:, 1:])


class HandWrittenModel(nn.Module):
    """The harness's `stack` model around nn.LSTM, written out: one-hot in, LSTM, a linear head at every step."""

    def __init__(self, vocab: int, hidden: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(vocab, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0])


def deepbench(device: torch.device, size: str) -> dict[str, float | bool]:
    """Median step ms of the harness and of the hand-written loop on the DeepBench LSTM, and their ratio."""
    hidden, batch, steps, epochs = DEEPBENCH[size]
    data = random_task(hidden, batch, steps)
    session = open_session(get_cell("lstm"), CellConfig(hidden, hidden), data,
                           TrainingSettings(lr=1e-3, device=device.type))
    harness_ms = median_ms(train(session, epochs).step_seconds)

    torch.manual_seed(0)
    model = HandWrittenModel(hidden, hidden).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = nn.functional.one_hot(torch.as_tensor(data.x_train, device=device), hidden).float()
    y = torch.as_tensor(data.y_train, device=device).reshape(-1)

    def step() -> None:
        optimizer.zero_grad()
        logits = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, hidden), y)
        loss.backward()
        optimizer.step()
        loss.item()  # the harness reads its loss every step too

    raw_ms = timed(step, epochs, device)
    ratio = harness_ms / raw_ms
    return {"hidden": hidden, "batch": batch, "T": steps, "harness_step_ms": harness_ms, "raw_step_ms": raw_ms,
            "ratio": ratio, "limit": MAX_HARNESS_RATIO, "within_limit": ratio <= MAX_HARNESS_RATIO}


def one_layer_ms(cell: str, steps: int, batch: int, inputs: int, hidden: int, repeats: int,
                 device: torch.device) -> float:
    """Median ms of one layer's forward and backward on random input (batch, steps, inputs)."""
    torch.manual_seed(0)
    layer = get_cell(cell).build(CellConfig(inputs, hidden, max_seq_len=steps)).to(device)
    x = torch.randn(batch, steps, inputs, device=device, requires_grad=True)

    def step() -> None:
        output, _ = layer(x)
        output.sum().backward()

    return timed(step, repeats, device)


def scans(device: torch.device, size: str) -> list[dict[str, float]]:
    """Each scan cell's step time against lstm's at every T, interleaved per T."""
    lengths, batch, inputs, hidden, repeats = SCANS[size]
    rows = []
    for steps in lengths:
        times = {cell: one_layer_ms(cell, steps, batch, inputs, hidden, repeats, device)
                 for cell in ("lstm", *SCAN_CELLS)}
        rows += [{"cell": cell, "T": steps, "batch": batch, "hidden": hidden, "step_ms": ms,
                  "vs_lstm": ms / times["lstm"]} for cell, ms in times.items()]
    return rows


SWEEP_FIELDS = ("cell", "status", "test_accuracy", "step_ms_median", "error")


def sweep_rows(run_dir: Path | None) -> list[dict[str, str]]:
    """The sweep's rows (the fields that say whether each cell ran, how well and how fast), from its runs.csv."""
    if run_dir is None:
        return []
    files = sorted(run_dir.glob("*/runs.csv")) or sorted(run_dir.glob("runs.csv"))
    with open(files[-1], newline="") as handle:
        return [{field: row.get(field, "") for field in SWEEP_FIELDS} for row in csv.DictReader(handle)]


def markdown(figures: dict) -> str:
    """The figures as a page: the harness verdict, the scan table and the sweep's rows."""
    bench = figures["deepbench_lstm"]
    lines = [f"# GPU check: {figures['device']} (torch {figures['torch']}, cuDNN {figures['cudnn']})", "",
             f"CUDA tests exit status: {figures['tests_rc']}", "",
             f"## Harness vs hand-written nn.LSTM (hidden {bench['hidden']}, batch {bench['batch']}, T {bench['T']})",
             "", f"harness {bench['harness_step_ms']:.3f} ms/step, hand-written {bench['raw_step_ms']:.3f} ms/step: "
             f"ratio {bench['ratio']:.3f} (limit {bench['limit']}, {'met' if bench['within_limit'] else 'MISSED'})",
             "", "## One layer, forward + backward, against lstm", "", "| cell | T | ms | x lstm |",
             "| --- | --- | --- | --- |"]
    lines += [f"| {row['cell']} | {row['T']} | {row['step_ms']:.3f} | {row['vs_lstm']:.2f} |"
              for row in figures["scans"]]
    if figures["sweep"]:
        lines += ["", "## Sweep: every built-in cell on recall", "", "| " + " | ".join(SWEEP_FIELDS) + " |",
                  "| " + " | ".join("---" for _ in SWEEP_FIELDS) + " |"]
        lines += ["| " + " | ".join(row[field] for field in SWEEP_FIELDS) + " |" for row in figures["sweep"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test of the code, not a figure)")
    parser.add_argument("--out", type=Path, required=True, help="the JSON file to write (and .md beside it)")
    parser.add_argument("--sweep", type=Path, help="the --out folder of the sweep to include")
    parser.add_argument("--tests-rc", type=int, help="the exit status of the CUDA tests to include")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_timing: --device cuda, but CUDA is not available here", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    size = "quick" if args.quick else "full"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False  # the harness leaves cuDNN's default; so does the raw loop
    figures = {"device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
               "torch": torch.__version__, "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
               "size": size, "tests_rc": args.tests_rc, "sweep": sweep_rows(args.sweep),
               "deepbench_lstm": deepbench(device, size), "scans": scans(device, size)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(figures))
    verdict = figures["deepbench_lstm"]
    print(f"harness {verdict['harness_step_ms']:.3f} ms vs raw {verdict['raw_step_ms']:.3f} ms: "
          f"ratio {verdict['ratio']:.3f} (limit {MAX_HARNESS_RATIO})")
    return 0 if verdict["within_limit"] or size == "quick" else 1


if __name__ == "__main__":
    sys.exit(main())
