"""torch's own recurrent layers as cells. torch is imported inside `build` so listing stays fast."""
from __future__ import annotations

from typing import Callable

from benchsuite import CellConfig, CellSpec, hookimpl

TORCH_LAYERS = {
    "rnn": ("RNN", "Elman RNN with tanh (torch.nn.RNN)"),
    "lstm": ("LSTM", "long short-term memory (torch.nn.LSTM)"),
    "gru": ("GRU", "gated recurrent unit (torch.nn.GRU)"),
}


def _builder(class_name: str) -> Callable[[CellConfig], object]:
    def build(config: CellConfig) -> object:
        from torch import nn

        layer = getattr(nn, class_name)
        return layer(config.input_size, config.hidden_size, num_layers=config.num_layers,
                     bidirectional=config.bidirectional, batch_first=True)

    return build


@hookimpl
def register_cells(register: Callable[[CellSpec], None]) -> None:
    for name, (class_name, description) in TORCH_LAYERS.items():
        register(CellSpec(name, "torch", _builder(class_name), description, native_variants=True))
