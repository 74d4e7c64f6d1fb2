"""Deep and bidirectional variants composed from single unidirectional layers, wired as torch's nn.RNN wires them.

Shared by both backends (torch_variants.py and numpy_variants.py supply only their array operations): layer l > 0
reads the concatenated outputs of layer l - 1; a reverse layer reads the sequence flipped in time and its output
is flipped back; final states are stacked layer by layer, forward before reverse, as torch orders h_n.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence, TypeVar

from ..specs import CellConfig

Layer = TypeVar("Layer")


def layer_configs(config: CellConfig) -> list[list[CellConfig]]:
    """The one-layer unidirectional configs a variant is made of: per layer, one per direction."""
    directions = 2 if config.bidirectional else 1
    return [[CellConfig(config.input_size if layer == 0 else config.hidden_size * directions, config.hidden_size,
                        max_seq_len=config.max_seq_len)
             for _ in range(directions)]
            for layer in range(config.num_layers)]


def needs_composition(config: CellConfig, native_variants: bool) -> bool:
    """Whether the suite must compose this variant (the cell builds only one unidirectional layer itself)."""
    return not native_variants and (config.num_layers > 1 or config.bidirectional)


def composed_forward(layers: Sequence[Sequence[Layer]], x: Any, call: Callable[[Layer, Any], tuple[Any, Any]],
                     flip_time: Callable[[Any], Any], concat_features: Callable[[list[Any]], Any]) -> tuple[Any, list]:
    """Run the stack on `x` (batch, time, features); returns the last layer's output and every final state."""
    finals = []
    for directions in layers:
        outputs = []
        for reverse, layer in enumerate(directions):
            output, final = call(layer, flip_time(x) if reverse else x)
            outputs.append(flip_time(output) if reverse else output)
            finals.append(final)
        x = outputs[0] if len(outputs) == 1 else concat_features(outputs)
    return x, finals


def stack_states(states: list[Any], concat_layers: Callable[[list[Any]], Any]) -> Any:
    """Final states of every layer and direction stacked on the first axis; LSTM-style tuples part by part.
    Layers without a usable state return None, and so does the stack."""
    if any(state is None for state in states):
        return None
    if isinstance(states[0], tuple):
        return tuple(concat_layers(list(parts)) for parts in zip(*states))
    return concat_layers(states)
