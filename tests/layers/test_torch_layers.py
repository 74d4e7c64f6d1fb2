"""The suite's composition of deep and bidirectional variants equals torch's own, given the same weights."""
from __future__ import annotations

from typing import Iterator

import pytest
import torch
from torch import nn

from benchsuite.layers.torch_layers import ComposedLayers, build_layer
from benchsuite.specs import CellConfig

INPUT, HIDDEN = 6, 5


def _single(kind: type[nn.Module]):
    def build(config: CellConfig) -> nn.Module:
        assert config.num_layers == 1 and not config.bidirectional  # the contract for composed cells
        return kind(config.input_size, config.hidden_size, batch_first=True)

    return build


def _native_names(composed: ComposedLayers) -> Iterator[tuple[nn.Parameter, str]]:
    """Each single layer's parameters, with the name torch's stacked layer gives them for that layer and direction."""
    for layer, directions in enumerate(composed.layers):
        for direction, single in enumerate(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            for name, parameter in single.named_parameters():
                yield parameter, name.replace("_l0", suffix)


def _copy_weights(native: nn.Module, composed: ComposedLayers) -> None:
    """Give each single layer the weights torch's stacked layer holds for that layer and direction."""
    state = native.state_dict()
    with torch.no_grad():
        for parameter, name in _native_names(composed):
            parameter.copy_(state[name])


@pytest.mark.parametrize("kind", [nn.RNN, nn.GRU, nn.LSTM])
def test_composed_two_layer_bidirectional_equals_torch(kind: type[nn.Module]) -> None:
    torch.manual_seed(0)
    config = CellConfig(INPUT, HIDDEN, num_layers=2, bidirectional=True)
    native = kind(INPUT, HIDDEN, num_layers=2, bidirectional=True, batch_first=True)
    composed = ComposedLayers(_single(kind), config)
    _copy_weights(native, composed)
    assert sum(p.numel() for p in composed.parameters()) == sum(p.numel() for p in native.parameters())

    x = torch.randn(3, 8, INPUT)
    want_output, want_state = native(x)
    output, state = composed(x)

    assert output.shape == (3, 8, 2 * HIDDEN)
    torch.testing.assert_close(output, want_output, rtol=0, atol=1e-6)
    states, want_states = (state, want_state) if kind is nn.LSTM else ((state,), (want_state,))
    for got, want in zip(states, want_states, strict=True):
        assert got.shape == (4, 3, HIDDEN)
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6)


def test_composed_gradients_equal_torch() -> None:
    torch.manual_seed(1)
    config = CellConfig(INPUT, HIDDEN, num_layers=2, bidirectional=True)
    native = nn.RNN(INPUT, HIDDEN, num_layers=2, bidirectional=True, batch_first=True)
    composed = ComposedLayers(_single(nn.RNN), config)
    _copy_weights(native, composed)
    x = torch.randn(2, 5, INPUT)
    weights = torch.randn(2, 5, 2 * HIDDEN)
    (native(x)[0] * weights).sum().backward()
    (composed(x)[0] * weights).sum().backward()
    native_grads = dict(native.named_parameters())
    for parameter, name in _native_names(composed):
        torch.testing.assert_close(parameter.grad, native_grads[name].grad, rtol=1e-5, atol=1e-6)


def test_build_layer_composes_only_when_the_cell_is_not_native() -> None:
    single = build_layer(_single(nn.RNN), CellConfig(INPUT, HIDDEN), native_variants=False)
    assert isinstance(single, nn.RNN)  # one unidirectional layer needs no wrapper
    deep = build_layer(_single(nn.RNN), CellConfig(INPUT, HIDDEN, 2), native_variants=False)
    assert isinstance(deep, ComposedLayers) and len(deep.layers) == 2 and len(deep.layers[0]) == 1
    assert deep.layers[1][0].input_size == HIDDEN

    def native_build(config: CellConfig) -> nn.Module:
        return nn.RNN(config.input_size, config.hidden_size, num_layers=config.num_layers,
                      bidirectional=config.bidirectional, batch_first=True)

    native = build_layer(native_build, CellConfig(INPUT, HIDDEN, 2, True), native_variants=True)
    assert isinstance(native, nn.RNN) and native.num_layers == 2 and native.bidirectional
