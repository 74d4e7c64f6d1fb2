"""The seed notebook's two experiments: `apple -> pple!`, and next character of one sentence in windows of 10."""
from __future__ import annotations

from typing import Callable

from benchsuite import TaskData, TaskSpec, hookimpl

SHIP_SENTENCE = (
    "if you want to build a ship, don't drum up people together to collect wood and don't assign them "
    "tasks and work, but rather teach them to long for the endless immensity of the sea."
)


def build_apple() -> TaskData:
    """One sample: read `apple`, emit `pple!` (each step predicts the next character)."""
    from .data.char import encode  # numpy, imported only when a task is built

    source, target = "apple", "pple!"
    vocab = sorted(set(source + target))
    x = encode(source, vocab)[None]
    y = encode(target, vocab)[None]
    return TaskData(vocab, x, y, ceiling=1.0)


def build_ship(seq_len: int = 10) -> TaskData:
    """Every window of `seq_len` characters of the sentence, each target shifted by one.

    The ceiling is below 1: a window's first characters often do not decide what comes next.
    """
    from .data.char import causal_window_ceiling, encode, next_char_windows

    vocab = sorted(set(SHIP_SENTENCE))
    x, y = next_char_windows(encode(SHIP_SENTENCE, vocab), seq_len)
    return TaskData(vocab, x, y, ceiling=causal_window_ceiling(x, y))


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(TaskSpec("apple", build_apple, "read 'apple', emit 'pple!'", causal=True,
                      defaults={"hidden_size": 5, "num_layers": 1, "epochs": 100, "lr": 0.1}))
    register(TaskSpec("ship", build_ship, "next character of one sentence, windows of 10", causal=True,
                      defaults={"hidden_size": 25, "num_layers": 2, "epochs": 100, "lr": 0.1}))
