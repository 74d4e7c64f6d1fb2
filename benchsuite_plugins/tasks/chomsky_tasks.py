"""Delétang et al. 2023, Table 2, as the paper builds its tasks: one-hot input tape, blanks where the answer is
read, per-token accuracy at those positions only, a fresh batch every step (set `--steps`), and a test set of every
string length beyond training, sliced by length (slices.csv gives the per-length accuracy the paper averages).

The generators live in data/chomsky.py. Unlike the older `parity`, `even-pairs` and `modular` tasks (formal_tasks.py),
which label every prefix of a fixed set of rows, these score one final answer (or an answer string) per tape.
"""
from __future__ import annotations

from functools import partial
from typing import Callable

from benchsuite import BenchInputError, TaskData, TaskSpec, hookimpl

from .task_options import DATA_SEED, check_range

CHOMSKY_TASKS = {
    "parity_check": "Delétang: is the count of 1s odd (one answer after the string)",
    "even_pairs": "Delétang: is the count of unequal adjacent pairs odd, i.e. first != last symbol",
    "modular_arithmetic": "Delétang: value mod 5 of an expression of digits 0-4 and + - * (* first)",
    "cycle_navigation": "Delétang: final place on a 5-cycle after moves -1, 0, +1",
    "stack_manipulation": "Delétang: the final stack after POP/PUSH operations, top first",
    "reverse_string": "Delétang: the binary string reversed",
    "duplicate_string": "Delétang: the binary string twice",
}
# One epoch of `steps` fresh batches of 128 (the paper's batch); the paper trains 1,000,000 steps.
CHOMSKY_DEFAULTS = {"hidden_size": 64, "num_layers": 1, "epochs": 1, "steps": 1000, "lr": 1e-3, "batch_size": 128}
TRAIN_SWEEP_PER_LENGTH = 4  # the fixed training split: only shapes and the train-accuracy readout use it


def build_chomsky(name: str, train_max_length: int = 40, test_first: int = 41, test_last: int = 100,
                  test_every: int = 1, per_length: int = 64) -> TaskData:
    """Training tapes of lengths 1..train_max_length drawn fresh each step; validation and test tapes of every
    `test_every`-th length in test_first..test_last, `per_length` of each (drawn apart), sliced by length."""
    check_range(name, "train_max_length", train_max_length, 1, 10_000)
    check_range(name, "test_first", test_first, 1, 10_000)
    check_range(name, "test_last", test_last, test_first, 10_000)
    check_range(name, "test_every", test_every, 1, 10_000)
    check_range(name, "per_length", per_length, 1, 100_000)
    import numpy as np

    from .data.chomsky import chomsky_task, length_sweep, sample_batch

    task = chomsky_task(name)
    rng = np.random.default_rng((DATA_SEED, len(name)))
    test_lengths = range(test_first, test_last + 1, test_every)
    if not any(length > train_max_length for length in test_lengths):
        raise BenchInputError(f"{name}: no test length beyond train_max_length={train_max_length}; raise test_last")
    x_train, y_train, _ = length_sweep(task, rng, range(1, train_max_length + 1), TRAIN_SWEEP_PER_LENGTH)
    x_valid, y_valid, valid_slices = length_sweep(task, rng, test_lengths, per_length)
    x_test, y_test, test_slices = length_sweep(task, rng, test_lengths, per_length)
    return TaskData(task.vocab, x_train, y_train, x_valid, y_valid, x_test=x_test, y_test=y_test,
                    valid_slices=valid_slices, test_slices=test_slices, slice_name="length", chance=task.chance,
                    sample_batch=partial(sample_batch, task, max_length=train_max_length))


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    for name, description in CHOMSKY_TASKS.items():
        # Not causal in the data's sense: the answer is read after the whole string, so a bidirectional reader
        # would see the blanks only, never the answer; the paper's recurrent models are unidirectional.
        register(TaskSpec(name, partial(build_chomsky, name), description, causal=True, defaults=CHOMSKY_DEFAULTS))
