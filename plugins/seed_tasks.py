"""The seed notebook's two experiments: `apple -> pple!`, and next character of one sentence in windows of 10."""
from __future__ import annotations

from typing import Callable

from benchsuite import TaskData, TaskSpec, hookimpl

SHIP_SENTENCE = (
    "if you want to build a ship, don't drum up people together to collect wood and don't assign them "
    "tasks and work, but rather teach them to long for the endless immensity of the sea."
)


def encode(text: str, vocab: list[str]) -> list[int]:
    index = {char: i for i, char in enumerate(vocab)}
    return [index[char] for char in text]


def build_apple() -> TaskData:
    """One sample: read `apple`, emit `pple!` (each step predicts the next character)."""
    import numpy as np

    source, target = "apple", "pple!"
    vocab = sorted(set(source + target))
    x = np.array([encode(source, vocab)])
    y = np.array([encode(target, vocab)])
    return TaskData(vocab, x, y, ceiling=1.0)


def build_ship(seq_len: int = 10) -> TaskData:
    """Every window of `seq_len` characters of the sentence, each target shifted by one."""
    import numpy as np

    vocab = sorted(set(SHIP_SENTENCE))
    codes = np.array(encode(SHIP_SENTENCE, vocab))
    starts = range(len(codes) - seq_len)
    x = np.stack([codes[i:i + seq_len] for i in starts])
    y = np.stack([codes[i + 1:i + seq_len + 1] for i in starts])
    return TaskData(vocab, x, y)


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(TaskSpec("apple", build_apple, "read 'apple', emit 'pple!'", causal=True,
                      defaults={"hidden_size": 5, "num_layers": 1, "epochs": 100, "lr": 0.1}))
    register(TaskSpec("ship", build_ship, "next character of one sentence, windows of 10", causal=True,
                      defaults={"hidden_size": 25, "num_layers": 2, "epochs": 100, "lr": 0.1}))
