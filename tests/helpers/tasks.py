"""A random task for backend tests: any shapes, ignored targets, an optional held-out split."""
from __future__ import annotations

import numpy as np

from benchsuite import TaskData


def random_task(samples: int = 12, steps: int = 6, vocab: int = 4, seed: int = 0, ignored: float = 0.2,
                valid: int = 0) -> TaskData:
    """Random inputs and targets over `vocab` symbols; a share `ignored` of targets is -1; `valid` held-out rows."""
    rng = np.random.default_rng(seed)

    def split(rows: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.integers(0, vocab, (rows, steps))
        y = np.where(rng.random((rows, steps)) < ignored, -1, rng.integers(0, vocab, (rows, steps)))
        return x, y

    x_train, y_train = split(samples)
    x_valid, y_valid = split(valid) if valid else (None, None)
    return TaskData([str(i) for i in range(vocab)], x_train, y_train, x_valid, y_valid)
