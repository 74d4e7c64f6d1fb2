"""An example benchsuite plugin: a minGRU cell written as a plain step loop, and the non-causal `reverse` task.

Only hook functions live here, so `bench list` can import this module without importing torch;
the torch code is in `layers.py`, imported inside `build`.
"""
from __future__ import annotations

from typing import Callable

from benchsuite import CellConfig, CellSpec, TaskData, TaskSpec, hookimpl

__version__ = "0.1.0"


def build_mingru(config: CellConfig) -> object:
    """One unidirectional minGRU layer: benchsuite stacks it and adds the reversed direction itself."""
    from .layers import MinGRU

    return MinGRU(config.input_size, config.hidden_size)


def build_reverse(length: int = 5, samples: int = 240, symbols: str = "abcd", seed: int = 0) -> TaskData:
    """Random words over `symbols`; the target at step t is the word's character at step length-1-t.

    The first half of the answer lies in the future, so only bidirectional variants can get it
    right: the task is not causal. A quarter of the words are held out for validation.
    """
    import numpy as np

    words = np.random.default_rng(seed).integers(0, len(symbols), size=(samples, length))
    answers = words[:, ::-1].copy()
    cut = samples * 3 // 4
    return TaskData(list(symbols), words[:cut], answers[:cut], words[cut:], answers[cut:], ceiling=1.0)


@hookimpl
def register_cells(register: Callable[[CellSpec], None]) -> None:
    register(CellSpec("mingru-loop", "torch", build_mingru, "minGRU as a step loop: gates read only the input",
                      native_variants=False))


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(TaskSpec("reverse", build_reverse, "read a random word, emit it reversed", causal=False,
                      defaults={"hidden_size": 32, "num_layers": 1, "epochs": 150, "lr": 0.02}))
