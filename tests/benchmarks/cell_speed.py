"""One layer of every built-in torch cell: step time and FLOPs, each as a multiple of lstm's.

    python tests/benchmarks/cell_speed.py [--quick]

One step is the forward and backward pass of one layer (batch 32, input 32) built by the cell's plugin, for
T in 64, 256, 1024 and hidden 64, 128, 256, on one thread. Rounds are interleaved (every cell once per round, the
order reversed every other round) so machine load moves all cells together; ratios are of medians. The clock is
the thread's CPU time: with one torch thread the whole step runs on the calling thread, so that is the work it
does, while wall-clock time on a shared machine also counts time other processes held the core (wall ratios are
printed too). Each cell's FLOPs are the multiply-adds of its matrix products per time step of one sequence (see
`multiply_adds`); element-wise work is left out, so the FLOP ratio is the speed ratio to expect where the matrix
products dominate.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

if __package__ in (None, ""):  # run as a script: tests/ importable, as under pytest
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchsuite import CellConfig, get_cell  # noqa: E402
from helpers.threads import single_thread  # noqa: E402

CELLS = ("lstm", "gru", "mingru", "minlstm", "lru", "transformer")
LENGTHS = (64, 256, 1024)
HIDDEN_SIZES = (64, 128, 256)
BATCH, INPUT = 32, 32
SAMPLE_SECONDS = 0.05  # a timed sample repeats the step so that an average cell's sample lasts about this long
CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.thread_time, "wall": time.perf_counter}


def multiply_adds(cell: str, hidden: int, length: int, input_size: int = INPUT) -> int:
    """Multiply-adds of the cell's matrix products per time step of one sequence (h = hidden, i = input)."""
    h, i = hidden, input_size
    return {
        "lstm": 4 * h * (i + h),  # four gates, each from x_t and h_{t-1}
        "gru": 3 * h * (i + h),  # three gates, each from x_t and h_{t-1}
        "mingru": 2 * h * i,  # gate and candidate from x_t alone
        "minlstm": 3 * h * i,  # forget, input and candidate from x_t alone
        # complex B (2hi) into h state channels, Re(C x) (2h^2), D (hi), the GLU's two maps (2h^2)
        "lru": 3 * h * i + 4 * h * h,
        # input projection (hi), q, k, v (3h^2), attention output (h^2), MLP (8h^2); causal attention:
        # step t scores and averages t + 1 positions (2h(t + 1)), which over T steps averages h(T + 1)
        "transformer": h * i + 12 * h * h + h * (length + 1),
    }[cell]


@dataclass(frozen=True)
class Grid:
    lengths: tuple[int, ...]
    hidden_sizes: tuple[int, ...]
    rounds: int  # timed rounds per (hidden, length), after one warm-up round


FULL = Grid(LENGTHS, HIDDEN_SIZES, rounds=11)
QUICK = Grid(LENGTHS, HIDDEN_SIZES, rounds=3)


class Step:
    """Forward and backward of one layer on a fixed batch; the loss weighs the output by fixed random numbers, so
    the gradient reaching the layer is dense and contiguous, as a trained head's is."""

    def __init__(self, cell: str, hidden: int, length: int) -> None:
        torch.manual_seed(0)
        self.layer = get_cell(cell).build(CellConfig(INPUT, hidden, max_seq_len=length))
        self.x = torch.randn(BATCH, length, INPUT)
        self.weights = torch.randn(BATCH, length, hidden)

    def __call__(self) -> None:
        for parameter in self.layer.parameters():
            parameter.grad = None  # as an optimizer's zero_grad does: gradients are fresh tensors every step
        output = self.layer(self.x)[0]
        (output * self.weights).sum().backward()


def step_seconds(hidden: int, length: int, rounds: int) -> dict[str, dict[str, float]]:
    """Median seconds per step of every cell on each clock, rounds interleaved, after a warm-up round."""
    steps = {cell: Step(cell, hidden, length) for cell in CELLS}
    started = time.thread_time()
    for step in steps.values():
        step()
    repeats = max(1, math.ceil(SAMPLE_SECONDS * len(CELLS) / (time.thread_time() - started)))
    samples: dict[str, dict[str, list[float]]] = {clock: {cell: [] for cell in CELLS} for clock in CLOCKS}
    for round_ in range(rounds):
        for cell in CELLS if round_ % 2 else reversed(CELLS):
            begin = {clock: read() for clock, read in CLOCKS.items()}
            for _ in range(repeats):
                steps[cell]()
            for clock, read in CLOCKS.items():
                samples[clock][cell].append((read() - begin[clock]) / repeats)
    return {clock: {cell: statistics.median(times) for cell, times in by_cell.items()}
            for clock, by_cell in samples.items()}


def measure(grid: Grid) -> dict[tuple[int, int], dict[str, dict[str, float]]]:
    """(hidden, length) -> clock -> cell -> median seconds per step, on one thread."""
    with single_thread():
        return {(hidden, length): step_seconds(hidden, length, grid.rounds)
                for hidden in grid.hidden_sizes for length in grid.lengths}


def ratios(seconds: dict[str, float]) -> dict[str, float]:
    """Each cell's time as a multiple of lstm's."""
    return {cell: value / seconds["lstm"] for cell, value in seconds.items()}


def markdown_table(results: dict[tuple[int, int], dict[str, dict[str, float]]], clock: str) -> str:
    """One row per (hidden, T): each cell's step time / lstm's, and in brackets its FLOPs / lstm's."""
    lines = ["| hidden | T | lstm ms | " + " | ".join(CELLS) + " |", "| --- " * (len(CELLS) + 3) + "|"]
    for (hidden, length), by_clock in results.items():
        time_ratio = ratios(by_clock[clock])
        flops = {cell: multiply_adds(cell, hidden, length) / multiply_adds("lstm", hidden, length) for cell in CELLS}
        cells = " | ".join(f"{time_ratio[cell]:.2f} ({flops[cell]:.2f})" for cell in CELLS)
        lines.append(f"| {hidden} | {length} | {1000 * by_clock[clock]['lstm']:.1f} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK.rounds} rounds instead of {FULL.rounds}")
    grid = QUICK if parser.parse_args(argv).quick else FULL
    results = measure(grid)
    for clock in CLOCKS:
        print(f"\nStep time as a multiple of lstm's ({clock} clock, median of {grid.rounds} interleaved rounds, "
              f"batch {BATCH}, input {INPUT}, one thread); in brackets FLOPs as a multiple of lstm's.\n")
        print(markdown_table(results, clock))


if __name__ == "__main__":
    main()
