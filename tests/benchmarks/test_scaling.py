"""Training-step time against sequence length, for torch's cells and the built-in baselines, on one thread.

Each cell trains through the suite's own torch session (cell, head, cross-entropy, Adam) on one full batch of
random characters. Rounds are interleaved (every length and cell once per round, the order reversed every other
round) so machine load moves all figures together; the first round is warm-up. With one torch thread the whole
step (backward included) runs on the calling thread, so the thread's CPU time is the work a step does; the table
and verdict use it because on a shared machine wall-clock time also counts time other processes held the core
(wall-clock medians are written beside it). The verdict is a ratio measured in this one run: the scan cells' cost
per position may not grow by more than GROWTH_LIMIT from the shortest to the longest length.

- Ordinary test runs (`--benchmark-disable`, the default) run it on tiny sizes, as a test of the table and plot.
- `pytest tests/benchmarks/test_scaling.py --benchmark-only -s` runs the real sizes (T = 64, 256, 1024, batch 32,
  hidden 128), prints the table and writes scaling.csv, scaling.txt and scaling.png to results/scaling-<time>/
  (or to the folder in $BENCHSUITE_SCALING_OUT).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchsuite.backbones import open_session
from benchsuite.backends import TrainingSettings
from benchsuite.measurement.timing import spread_ms
from benchsuite.registry.loading import get_registry
from benchsuite.specs import CellConfig, TaskData

CELLS = ("rnn", "lstm", "gru", "mingru", "minlstm", "lru", "transformer")
SCAN_CELLS = ("mingru", "minlstm", "lru")
GROWTH_LIMIT = 1.5
VOCAB = 32


@dataclass(frozen=True)
class Sizes:
    lengths: tuple[int, ...]
    batch: int
    hidden: int
    rounds: int  # timed rounds, after one warm-up round


FULL = Sizes((64, 256, 1024), batch=32, hidden=128, rounds=5)
TINY = Sizes((4, 8, 16), batch=2, hidden=8, rounds=2)


def random_session(cell: str, length: int, sizes: Sizes):
    """A session of `cell` on one full batch of random characters of `length` steps, and that batch."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, size=(sizes.batch, length))
    data = TaskData([chr(ord("!") + i) for i in range(VOCAB)], x, np.roll(x, -1, axis=1))
    spec = get_registry().cell(cell)
    session = open_session(spec, CellConfig(VOCAB, sizes.hidden), data, TrainingSettings(lr=1e-3))
    return session, next(iter(session.batches(1)))


CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}
Samples = dict[str, dict[tuple[str, int], list[float]]]  # clock -> (cell, length) -> seconds per step


def step_times(sizes: Sizes) -> Samples:
    """Seconds per training step for every (cell, length) on each clock, rounds interleaved, warm-up dropped."""
    sessions = {(cell, length): random_session(cell, length, sizes) for length in sizes.lengths for cell in CELLS}
    keys = list(sessions)
    samples: Samples = {clock: {key: [] for key in keys} for clock in CLOCKS}
    for round_ in range(sizes.rounds + 1):
        for key in keys if round_ % 2 else reversed(keys):
            session, batch = sessions[key]
            started = {clock: read() for clock, read in CLOCKS.items()}
            session.train_step(batch)
            session.synchronize()
            if round_:
                for clock, read in CLOCKS.items():
                    samples[clock][key].append(read() - started[clock])
    return samples


def scaling_table(samples: Samples, sizes: Sizes):
    """One row per cell: median step ms (CPU time) at each length, per-position growth from the shortest length
    to the longest, and the wall-clock medians."""
    import pandas as pd

    first, last = sizes.lengths[0], sizes.lengths[-1]
    rows = []
    for cell in CELLS:
        row = {"cell": cell}
        for length in sizes.lengths:
            row[f"step_ms_T{length}"] = spread_ms(samples["cpu"][cell, length]).median_ms
        row[f"per_position_growth_T{first}_to_T{last}"] = (
            row[f"step_ms_T{last}"] / last) / (row[f"step_ms_T{first}"] / first)
        for length in sizes.lengths:
            row[f"wall_ms_T{length}"] = spread_ms(samples["wall"][cell, length]).median_ms
        rows.append(row)
    return pd.DataFrame(rows).set_index("cell")


def draw(table, sizes: Sizes, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for cell, row in table.iterrows():
        ax.plot(sizes.lengths, [row[f"step_ms_T{length}"] for length in sizes.lengths], marker="o", label=cell,
                linestyle="-" if cell in SCAN_CELLS else "--")
    ax.set(xscale="log", yscale="log", xlabel="sequence length T", ylabel="training step (ms CPU time, median)",
           title=f"one thread, batch {sizes.batch}, hidden {sizes.hidden}")
    ax.set_xticks(sizes.lengths, [str(length) for length in sizes.lengths])
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def output_folder(tmp_path: Path, full: bool) -> Path:
    if not full:
        return tmp_path
    folder = Path(os.environ.get("BENCHSUITE_SCALING_OUT") or f"results/scaling-{time.strftime('%Y%m%d-%H%M%S')}")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_step_time_against_sequence_length(benchmark, tmp_path: Path) -> None:
    full = not benchmark.disabled
    sizes = FULL if full else TINY
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # The whole interleaved sweep is one pedantic call: pytest-benchmark's own figure is its total time, and
        # the per-cell figures go into the JSON report as extra_info.
        samples = benchmark.pedantic(step_times, args=(sizes,), rounds=1, iterations=1)
    finally:
        torch.set_num_threads(before)
    table = scaling_table(samples, sizes)
    folder = output_folder(tmp_path, full)
    table.to_csv(folder / "scaling.csv")
    last = sizes.lengths[-1]
    ratio = table.loc["mingru", f"step_ms_T{last}"] / table.loc["lstm", f"step_ms_T{last}"]
    text = table.to_string(float_format="{:.3g}".format) + f"\n\nmingru / lstm step time at T={last}: {ratio:.3g}\n"
    (folder / "scaling.txt").write_text(text)
    plot = draw(table, sizes, folder / "scaling.png")
    benchmark.group = "scaling"
    benchmark.extra_info.update(threads=1, batch=sizes.batch, hidden=sizes.hidden, plot=str(plot),
                                mingru_over_lstm=ratio, table=table.reset_index().to_dict(orient="records"))
    print(f"\n{text}\nwritten: {folder / 'scaling.csv'}, {folder / 'scaling.txt'}, {plot}")

    assert table.notna().all().all() and (table.filter(like="_ms_") > 0).all().all()
    assert plot.stat().st_size > 0
    if full:  # tiny sizes measure Python overhead, not how the cells scale
        growth = table[f"per_position_growth_T{sizes.lengths[0]}_to_T{last}"]
        assert (growth[list(SCAN_CELLS)] <= GROWTH_LIMIT).all(), growth.to_dict()
