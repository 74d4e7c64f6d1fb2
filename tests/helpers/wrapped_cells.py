"""Small wrapper cells in the shapes real PyPI layers come in, as one plugin module (importable, and copied into a
folder for --plugins-dir): state-less, time-first, ReLU-convolutional, multi-head, context-limited, complex-valued,
a lean native stack, and one with its own optimizer defaults."""
from __future__ import annotations

import shutil
from pathlib import Path

import torch
from torch import nn

from benchsuite import CellConfig, CellSpec, hookimpl


class RunningMean(nn.Module):
    """A d_model -> d_model layer with no recurrent state, behind an input projection: y_t = tanh(mean of W x_<=t)."""

    def __init__(self, config: CellConfig) -> None:
        super().__init__()
        self.project = nn.Linear(config.input_size, config.hidden_size)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        steps = torch.arange(1, x.shape[1] + 1, dtype=x.dtype).view(1, -1, 1)
        return torch.tanh(self.project(x).cumsum(1) / steps), None


class TimeFirstLSTM(nn.Module):
    """The mistake: torch's LSTM without batch_first, reading the batch axis as time; h_n made from the output."""

    def __init__(self, config: CellConfig) -> None:
        super().__init__()
        self.lstm = nn.LSTM(config.input_size, config.hidden_size)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        output, _ = self.lstm(x)
        return output, output[:, -1].unsqueeze(0)


class TimeFirstDone(TimeFirstLSTM):
    """The fix for a time-first layer: transpose in and out."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        output, state = self.lstm(x.transpose(0, 1))
        return output.transpose(0, 1), state


class ReluConv(nn.Module):
    """A TCN-like causal convolution with ReLU: on one batch some units can be dead, so their weights get no
    gradient there without being detached."""

    def __init__(self, config: CellConfig) -> None:
        super().__init__()
        self.conv = nn.Conv1d(config.input_size, config.hidden_size, kernel_size=2)
        self.mix = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        padded = nn.functional.pad(x.transpose(1, 2), (1, 0))  # one step of left padding: causal
        hidden = torch.relu(self.conv(padded) - 0.3).transpose(1, 2)  # the shift kills some units
        return self.mix(hidden), None


class Heads(nn.Module):
    """Independent RNN heads side by side: hidden_size must be a multiple of `heads` (sLSTM's constraint)."""

    def __init__(self, config: CellConfig, heads: int) -> None:
        super().__init__()
        assert config.hidden_size % heads == 0
        self.heads = nn.ModuleList(nn.RNN(config.input_size, config.hidden_size // heads, batch_first=True)
                                   for _ in range(heads))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs, states = zip(*(head(x) for head in self.heads))
        return torch.cat(outputs, -1), torch.cat(states, -1)


def build_heads(config: CellConfig, heads: int = 4) -> Heads:
    return Heads(config, heads)


def heads_constraint(config: CellConfig, heads: int = 4) -> str:
    return "" if config.hidden_size % heads == 0 else f"hidden_size must be a multiple of heads ({heads})"


class PerStepGate(nn.Module):
    """A layer that must know the sequence length when built (mLSTM's context_length): one gate per step."""

    def __init__(self, config: CellConfig) -> None:
        super().__init__()
        assert config.max_seq_len is not None, "built without max_seq_len"
        self.rnn = nn.GRU(config.input_size, config.hidden_size, batch_first=True)
        self.gate = nn.Parameter(torch.ones(config.max_seq_len, config.hidden_size))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        output, h_n = self.rnn(x)
        return output * self.gate[: x.shape[1]], h_n


class ComplexDiagonal(nn.Module):
    """An LRU-like diagonal recurrence with complex input weights: h_t = lambda * h_(t-1) + B x_t, output Re(h).
    Its state is complex, so it returns none."""

    def __init__(self, config: CellConfig) -> None:
        super().__init__()
        size = config.hidden_size
        self.nu = nn.Parameter(torch.rand(size) - 1.0)
        self.theta = nn.Parameter(torch.rand(size) * 3.14)
        self.B = nn.Parameter(torch.randn(size, config.input_size, dtype=torch.complex64) / config.input_size ** 0.5)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        decay = torch.exp(-torch.exp(self.nu)) * torch.exp(1j * self.theta)
        drive = x.to(torch.complex64) @ self.B.T
        state = torch.zeros(x.shape[0], self.nu.shape[0], dtype=torch.complex64)
        outputs = []
        for step in range(x.shape[1]):
            state = decay * state + drive[:, step]
            outputs.append(state.real)
        return torch.stack(outputs, 1), None


def build_lean_stack(config: CellConfig) -> nn.Module:
    """A native stack that, by design, drops its biases beyond one layer: fewer parameters than composed layers."""
    return nn.GRU(config.input_size, config.hidden_size, num_layers=config.num_layers,
                  bidirectional=config.bidirectional, batch_first=True,
                  bias=config.num_layers == 1 and not config.bidirectional)


def build_gru(config: CellConfig) -> nn.Module:
    return nn.GRU(config.input_size, config.hidden_size, batch_first=True)


OWN_DEFAULTS = {"lr": 0.003, "clip": 0.5, "weight_decay": 0.01}


@hookimpl
def register_cells(register):
    register(CellSpec("stateless", "torch", RunningMean, "running mean, no state"))
    register(CellSpec("time-first", "torch", TimeFirstLSTM, "nn.LSTM without batch_first"))
    register(CellSpec("time-first-done", "torch", TimeFirstDone, "nn.LSTM, transposed around"))
    register(CellSpec("relu-conv", "torch", ReluConv, "causal convolution with ReLU"))
    register(CellSpec("heads", "torch", build_heads, "RNN heads", constraint=heads_constraint))
    register(CellSpec("per-step", "torch", PerStepGate, "one gate per time step"))
    register(CellSpec("complex", "torch", ComplexDiagonal, "complex diagonal recurrence"))
    register(CellSpec("lean-stack", "torch", build_lean_stack, "native stack without deep biases",
                      native_variants=True))
    register(CellSpec("tuned-gru", "torch", build_gru, "GRU with its own optimizer defaults",
                      defaults=OWN_DEFAULTS))


def plugin_folder(folder: Path) -> Path:
    """A folder holding this module as a loose plugin file, for --plugins-dir."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(__file__), folder / "wrapped_cells.py")
    return folder
