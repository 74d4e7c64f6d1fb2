"""The tests' one torch cell: a single `nn.RNN` layer (batch first) with a hook on each forward, through which a test
makes it fail, sleep or spoil its output. Loose plugin files (for --plugins-dir, run in child processes and on Ray
nodes that cannot import the tests) get it as source text, `SOURCE`, to paste above their own code."""
from __future__ import annotations

import inspect
from typing import Callable

from torch import Tensor, nn

from benchsuite import CellConfig


class HookedRNN(nn.Module):
    """torch's one-layer RNN; `on_forward(layer, output)`, when given, sees each forward's output and returns the
    output to give. `run_number` is this layer's place among those built in this process, `calls` its forwards."""

    built = 0

    def __init__(self, config: CellConfig, on_forward: Callable[[HookedRNN, Tensor], Tensor] | None = None) -> None:
        super().__init__()
        HookedRNN.built += 1
        self.run_number, self.calls, self.on_forward = HookedRNN.built, 0, on_forward
        self.rnn = nn.RNN(config.input_size, config.hidden_size, batch_first=True)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        self.calls += 1
        output, h_n = self.rnn(x)
        return (output if self.on_forward is None else self.on_forward(self, output)), h_n


# A plugin file's opening lines that define HookedRNN (annotations are not evaluated: the future import).
SOURCE = f"from __future__ import annotations\n\nfrom torch import nn\n\n\n{inspect.getsource(HookedRNN)}\n"
