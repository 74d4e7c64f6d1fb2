"""What a task plugin returns is checked before any cell trains on it, with a message naming the task."""
from __future__ import annotations

import numpy as np
import pytest

from benchsuite import TaskData
from benchsuite.planning.tasks import check_task_data

VOCAB = ["a", "b", "c"]
GOOD = np.array([[0, 1, 2]])


@pytest.mark.parametrize("data, message", [
    (TaskData(VOCAB, GOOD.astype(float), GOOD), "x_train must hold integers indexing vocab"),
    (TaskData(VOCAB, GOOD, GOOD[:, :2]), "must both have shape (N, T); got (1, 3) and (1, 2)"),
    (TaskData(VOCAB, GOOD + 1, GOOD), "train split: inputs must lie in 0..2"),
    (TaskData(VOCAB, GOOD, GOOD, GOOD, np.array([[0, 3, 1]])), "valid split: targets must be below 3"),
    ("not task data", "build() must return benchsuite.TaskData, got str"),
])
def test_broken_task_data_is_refused_naming_the_task(data: object, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match="task 'toy'") as raised:
        check_task_data("toy", data)
    assert message in str(raised.value)


def test_ignored_targets_and_a_missing_split_are_fine() -> None:
    data = TaskData(VOCAB, GOOD, np.array([[1, -1, 2]]))
    assert check_task_data("toy", data) is data
