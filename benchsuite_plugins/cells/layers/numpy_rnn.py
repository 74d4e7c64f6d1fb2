"""The Elman RNN of torch's `nn.RNN` (tanh, two biases) written in NumPy, with layers and directions built in.

Inside, sequences are time-major, so that each step reads and writes one contiguous (batch, hidden)
slice; the interface is batch-first, as `nn.RNN(..., batch_first=True)`. Each direction keeps its
states in one zero-padded array: row 0 and row T+1 are the zero initial states of the forward and
the reverse pass, rows 1..T the states at times 0..T-1, so both passes read their previous state
by slicing, with no branch and no copy. Scratch arrays come from a `Workspace`, made once per
shape; what forward and backward return is new on every call.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchsuite import CellConfig
from benchsuite.layers import Workspace

DIRECTION_SUFFIXES = ("", "_reverse")


@dataclass
class _Pass:
    """What one direction of one layer kept from the last forward: its input and its padded states."""

    inputs: np.ndarray  # (T * N, input_size), time-major rows
    states: np.ndarray  # (T + 2, N, hidden)


class NumpyRNN:
    """`num_layers` stacked tanh RNN layers, optionally bidirectional, named and shaped as nn.RNN's state dict.

    `forward(x)` takes x of shape (batch, time, input_size) and returns `(output, h_n)` with
    output (batch, time, hidden * directions) and h_n (layers * directions, batch, hidden);
    `backward(d_output)` fills `grads` for the last forward and returns d_x. Parameters start at
    zero: the backbone initialises them (see `benchsuite.backbones.numpy_stack`).
    """

    def __init__(self, config: CellConfig) -> None:
        self.hidden_size = config.hidden_size
        self.num_layers = config.num_layers
        self.suffixes = DIRECTION_SUFFIXES[:2 if config.bidirectional else 1]
        self.params: dict[str, np.ndarray] = {}
        hidden = config.hidden_size
        for layer in range(config.num_layers):
            input_size = config.input_size if layer == 0 else hidden * len(self.suffixes)
            for suffix in self.suffixes:
                key = f"_l{layer}{suffix}"
                self.params[f"weight_ih{key}"] = np.zeros((hidden, input_size))
                self.params[f"weight_hh{key}"] = np.zeros((hidden, hidden))
                self.params[f"bias_ih{key}"] = np.zeros(hidden)
                self.params[f"bias_hh{key}"] = np.zeros(hidden)
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self._passes: list[list[_Pass]] = []
        self._workspace = Workspace()

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        steps, batch = x.shape[1], x.shape[0]
        layer_input = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=np.float64).reshape(steps * batch, -1)
        self._passes = []
        finals = []
        for layer in range(self.num_layers):
            passes = [self._forward_pass(layer_input, steps, layer, suffix) for suffix in self.suffixes]
            self._passes.append(passes)
            finals += [p.states[steps] if suffix == "" else p.states[1] for p, suffix in zip(passes, self.suffixes)]
            outputs = [p.states[1:steps + 1] for p in passes]
            layer_output = outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=2)
            layer_input = layer_output.reshape(steps * batch, -1)
        return layer_output.transpose(1, 0, 2), np.stack(finals)

    def _forward_pass(self, inputs: np.ndarray, steps: int, layer: int, suffix: str) -> _Pass:
        key = f"_l{layer}{suffix}"
        w_hh_t = self.params[f"weight_hh{key}"].T
        batch = inputs.shape[0] // steps
        states = np.empty((steps + 2, batch, self.hidden_size))  # kept for backward; rows 1..T are the output
        states[0] = states[steps + 1] = 0.0
        current = states[1:steps + 1]
        # Input projections of all steps at once; the loop then adds only the recurrent term.
        np.matmul(inputs, self.params[f"weight_ih{key}"].T, out=current.reshape(steps * batch, -1))
        current += self.params[f"bias_ih{key}"] + self.params[f"bias_hh{key}"]
        recurrent = self._workspace.array("recurrent", (batch, self.hidden_size))
        reverse = suffix != ""
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            np.matmul(states[t + 2 if reverse else t], w_hh_t, out=recurrent)
            state = states[t + 1]
            state += recurrent
            np.tanh(state, out=state)
        return _Pass(inputs, states)

    def backward(self, d_output: np.ndarray) -> np.ndarray:
        if not self._passes:
            raise RuntimeError("backward called before forward")
        d_layer_output = d_output.transpose(1, 0, 2)  # time-major view
        for layer in range(self.num_layers - 1, -1, -1):
            d_input = None
            for index, (suffix, saved) in enumerate(zip(self.suffixes, self._passes[layer])):
                d_states = d_layer_output[:, :, index * self.hidden_size:(index + 1) * self.hidden_size]
                d_pass = self._backward_pass(d_states, saved, layer, suffix)
                if d_input is None:
                    d_input = d_pass
                else:
                    d_input += d_pass  # both directions read the same input
            d_layer_output = d_input.reshape(d_layer_output.shape[0], d_layer_output.shape[1], -1)
        return d_layer_output.transpose(1, 0, 2)

    def _backward_pass(self, d_states: np.ndarray, saved: _Pass, layer: int, suffix: str) -> np.ndarray:
        """Backpropagation through time for one direction; returns d(inputs) as (T * N, input_size)."""
        key = f"_l{layer}{suffix}"
        w_hh = self.params[f"weight_hh{key}"]
        steps, batch = d_states.shape[0], d_states.shape[1]
        states = saved.states
        d_pre = self._workspace.array(f"d_pre{key}", (steps, batch, self.hidden_size))
        np.square(states[1:steps + 1], out=d_pre)
        np.subtract(1.0, d_pre, out=d_pre)  # tanh'; becomes d(pre-activation) step by step
        carried = self._workspace.array("carried", (batch, self.hidden_size))
        reverse = suffix != ""
        order = range(steps) if reverse else range(steps - 1, -1, -1)
        later = None  # the step processed after this one in the forward pass
        for t in order:
            if later is None:
                d_pre[t] *= d_states[t]
            else:
                np.matmul(d_pre[later], w_hh, out=carried)
                carried += d_states[t]
                d_pre[t] *= carried
            later = t
        d_pre_rows = d_pre.reshape(steps * batch, -1)
        previous = (states[2:] if reverse else states[:steps]).reshape(steps * batch, -1)
        np.matmul(d_pre_rows.T, previous, out=self.grads[f"weight_hh{key}"])
        np.matmul(d_pre_rows.T, saved.inputs, out=self.grads[f"weight_ih{key}"])
        np.sum(d_pre_rows, axis=0, out=self.grads[f"bias_ih{key}"])
        self.grads[f"bias_hh{key}"][...] = self.grads[f"bias_ih{key}"]
        return d_pre_rows @ self.params[f"weight_ih{key}"]
