"""Option checks shared by the generated diagnostic tasks; light (no numpy), as `bench list` imports it."""
from __future__ import annotations

from benchsuite import BenchInputError

DATA_SEED = 20240917  # the data are fixed; --seeds varies only the models
HELD_OUT_SHARE = 4  # valid and test each hold samples // 4 rows


def check_samples(task: str, samples: int) -> None:
    if samples < HELD_OUT_SHARE:
        raise BenchInputError(f"{task}.samples: need at least {HELD_OUT_SHARE} (a quarter are held out twice), "
                              f"got {samples}")


def check_range(task: str, option: str, value: int, lowest: int, highest: int) -> None:
    if not lowest <= value <= highest:
        raise BenchInputError(f"{task}.{option}: must lie in {lowest}..{highest}, got {value}")


def rows_in(split: str, samples: int) -> int:
    """How many rows a split holds: `samples` to train on, a quarter of that held out for valid and for test."""
    return samples if split == "train" else samples // HELD_OUT_SHARE
