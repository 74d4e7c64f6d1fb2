"""`numpy-rnn`: torch's Elman RNN written by hand in NumPy, as the seed notebook began. numpy is imported in `build`."""
from __future__ import annotations

from typing import Callable

from benchsuite import CellConfig, CellSpec, hookimpl


def build_numpy_rnn(config: CellConfig) -> object:
    from .layers.numpy_rnn import NumpyRNN

    return NumpyRNN(config)


@hookimpl
def register_cells(register: Callable[[CellSpec], None]) -> None:
    register(CellSpec("numpy-rnn", "numpy", build_numpy_rnn, "Elman RNN with tanh, hand-written in NumPy",
                      native_variants=True))
