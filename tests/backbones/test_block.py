"""The `block` backbone: parameter counts against hand counts and nanoGPT's GPT, causality, independence of the
samples of a batch, integer inputs, scoring only the counted positions, the recipe's init and refusals."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from benchsuite import CellConfig
from benchsuite.backbones import build_model, open_session
from benchsuite.backbones.recipes import PRESETS, BlockRecipe, recipe
from benchsuite.backends import TrainingSettings
from benchsuite.errors import BenchInputError
from benchsuite.layers.torch_layers import count_parameters
from benchsuite.registry.loading import get_registry
from helpers.tasks import random_task

VOCAB, WIDTH, BLOCKS, TIME = 11, 32, 2, 9


def block_model(cell: str, preset: str | None = None, bidirectional: bool = False, **knobs: object) -> torch.nn.Module:
    config = CellConfig(VOCAB, WIDTH, BLOCKS, bidirectional, TIME)
    return build_model(get_registry().cell(cell), config, VOCAB, seed=0, backbone="block",
                       recipe=recipe(preset, **knobs))


# Hand counts, written from each architecture (d the width, V the vocabulary, L blocks), not from the modules.
def mingru_mixer(d: int) -> int:
    return d * 2 * d + 2 * d  # one fused Linear: gate and candidate, with biases


def swiglu_inner(d: int) -> int:
    return math.ceil(math.ceil(8 * d / 3) / 16) * 16  # MAD: ceil(8d/3), rounded up to a multiple of 16


def lstm_mixer(d: int) -> int:
    return 4 * (d * d + d * d + d + d)  # nn.LSTM: W_ih, W_hh, b_ih, b_hh for four gates


HAND_COUNTS = {
    # Zoology: embedding tied to the bias-free head; per block LayerNorm (weight and bias) and the mixer, no MLP;
    # a final LayerNorm.
    ("zoology", "mingru"): lambda d, V, L: V * d + L * (2 * d + mingru_mixer(d)) + 2 * d,
    ("zoology", "lstm"): lambda d, V, L: V * d + L * (2 * d + lstm_mixer(d)) + 2 * d,
    # MAD: untied embedding and biased head; per block RMSNorm (weight only), mixer, RMSNorm, SwiGLU of three
    # bias-free matrices with inner width ceil(8d/3) rounded up to a multiple of 16; a final RMSNorm.
    ("mad", "mingru"): lambda d, V, L: V * d + L * (d + mingru_mixer(d) + d + 3 * d * swiglu_inner(d)) + d + d * V + V,
    ("mad", "lstm"): lambda d, V, L: V * d + L * (d + lstm_mixer(d) + d + 3 * d * swiglu_inner(d)) + d + d * V + V,
}


@pytest.mark.parametrize(("preset", "cell"), sorted(HAND_COUNTS))
def test_block_parameters_match_a_hand_count(preset: str, cell: str) -> None:
    model = block_model(cell, preset)
    assert count_parameters(model) == HAND_COUNTS[preset, cell](WIDTH, VOCAB, BLOCKS)
    mixer = {"mingru": mingru_mixer, "lstm": lstm_mixer}[cell](WIDTH)
    assert model.mixer_parameter_count() == BLOCKS * mixer


def test_swiglu_inner_width_is_mads() -> None:
    # d = 32: 8 * 32 / 3 = 85.3 -> 86 -> 96, the next multiple of 16.
    assert BlockRecipe(mlp="swiglu").mlp_width(32) == 96
    assert BlockRecipe(mlp="swiglu").mlp_width(48) == 128


@pytest.mark.parametrize(("width", "layers", "vocab", "block_size"), [(32, 2, 11, 9), (48, 3, 65, 64)])
def test_transformer_with_the_nanogpt_preset_has_nanogpts_parameter_count(width: int, layers: int, vocab: int,
                                                                         block_size: int) -> None:
    d = width
    # nanoGPT's GPT with bias=False: wte V*d, wpe T*d; per layer ln_1 (weight only), attn c_attn d x 3d and c_proj
    # d x d, ln_2, mlp c_fc d x 4d and c_proj 4d x d; ln_f; lm_head tied to wte.
    per_layer = d + d * 3 * d + d * d + d + d * 4 * d + 4 * d * d
    gpt = vocab * d + block_size * d + layers * per_layer + d
    config = CellConfig(vocab, width, layers, False, block_size)
    model = build_model(get_registry().cell("transformer"), config, vocab, 0, "block", PRESETS["nanogpt"])
    assert count_parameters(model) == gpt


def test_transformer_under_block_is_bare_attention_and_lru_drops_its_glu() -> None:
    d = WIDTH
    attention = block_model("transformer")
    assert attention.mixer_parameter_count() == BLOCKS * (d * 3 * d + 3 * d + d * d + d)  # qkv and out, biased
    lru = block_model("lru")
    # nu, theta, gamma per state channel; B and C as real and imaginary parts; D; no GLU (d x 2d + 2d).
    assert lru.mixer_parameter_count() == BLOCKS * (3 * d + 2 * d * d + 2 * d * d + d * d)


def test_mingru_expansion_adds_an_output_projection() -> None:
    d, e = WIDTH, 2.0
    model = block_model("mingru")
    spec = get_registry().cell("mingru").with_options({"expansion": e})
    expanded = build_model(spec, CellConfig(VOCAB, d, BLOCKS, False, TIME), VOCAB, 0, "block")
    inner = int(e * d)
    assert expanded.mixer_parameter_count() == BLOCKS * (d * 2 * inner + 2 * inner + inner * d + d)
    assert expanded(torch.zeros(2, TIME, dtype=torch.long)).shape == model(torch.zeros(2, TIME, dtype=torch.long)).shape


def test_a_bidirectional_mixer_is_built_as_a_mixer_in_both_directions() -> None:
    d = WIDTH
    lru = block_model("lru", bidirectional=True)
    # Two GLU-free LRUs per block (as in the unidirectional count above), and no GLU's d x 2d + 2d anywhere.
    assert lru.mixer_parameter_count() == BLOCKS * 2 * (3 * d + 2 * d * d + 2 * d * d + d * d)


@pytest.mark.parametrize("expansion", [2.0, 1.5])
def test_an_expanded_min_rnn_reports_its_wider_state(expansion: float) -> None:
    data = random_task(samples=4, steps=TIME, vocab=VOCAB)
    for cell in ("mingru", "minlstm"):
        spec = get_registry().cell(cell).with_options({"expansion": expansion})
        for backbone in ("block", "stack"):
            session = open_session(spec, CellConfig(VOCAB, WIDTH, BLOCKS, False, TIME), data,
                                   TrainingSettings(lr=0.01), backbone)
            assert session.state_size() == BLOCKS * round(expansion * WIDTH)  # each layer's e x d channels


def test_zoology_drops_a_tenth_of_the_attention_weights_while_training() -> None:
    """Uniform attention over one-hot inputs makes each output feature one attention weight: step t's output holds
    1 / ((t + 1) (1 - p)) at every earlier step s it kept and 0 where the weight was dropped."""
    time, width, batch = 8, 16, 2000
    spec = get_registry().cell("transformer").with_options({"heads": 1})
    model = build_model(spec, CellConfig(VOCAB, width, 1, False, time), VOCAB, 0, "block", PRESETS["zoology"])
    attention = model.blocks[0].mixer
    with torch.no_grad():
        attention.qkv.weight.zero_()
        attention.qkv.weight[2 * width:].copy_(torch.eye(width))  # queries and keys 0: uniform; values = inputs
        attention.qkv.bias.zero_()
        attention.out_proj.weight.copy_(torch.eye(width))
        attention.out_proj.bias.zero_()
    x = torch.eye(width)[:time].expand(batch, time, width)  # step s is the one-hot of feature s
    earlier = torch.tril(torch.ones(time, time, dtype=torch.bool))
    steps = torch.arange(1, time + 1, dtype=torch.float32)[:, None].expand(time, time)
    with torch.no_grad():
        attention.train()
        trained = attention(x)[0][:, :, :time][:, earlier]
        attention.eval()
        evaluated = attention(x)[0][:, :, :time][:, earlier]
    p = 0.1
    dropped = (trained == 0).float().mean().item()
    assert abs(dropped - p) < 0.01  # 72,000 weights: the share's standard error is about 0.001
    kept = trained[trained != 0]
    torch.testing.assert_close(kept, (1 / (steps[earlier] * (1 - p))).expand_as(trained)[trained != 0])
    torch.testing.assert_close(evaluated, (1 / steps[earlier]).expand_as(evaluated))  # nothing dropped in eval


@pytest.mark.parametrize("cell", ["transformer", "mingru", "lstm", "lru"])
@pytest.mark.parametrize("preset", [None, "zoology", "mad"])
def test_a_block_model_is_causal_and_keeps_samples_apart(cell: str, preset: str | None) -> None:
    torch.manual_seed(1)
    model = block_model(cell, preset).eval()
    codes = torch.randint(0, VOCAB, (4, TIME))
    with torch.no_grad():
        before = model(codes)
        changed = codes.clone()
        changed[0, 5] = (changed[0, 5] + 1) % VOCAB  # one sample, one step
        after = model(changed)
    assert before.shape == (4, TIME, VOCAB)
    torch.testing.assert_close(after[0, :5], before[0, :5], rtol=0, atol=1e-6)  # earlier steps cannot see it
    assert not torch.allclose(after[0, 5:], before[0, 5:])
    torch.testing.assert_close(after[1:], before[1:], rtol=0, atol=1e-6)  # other samples are untouched


def test_a_bidirectional_block_projects_both_directions_back_and_reads_later_steps() -> None:
    model = block_model("gru", bidirectional=True).eval()
    codes = torch.randint(0, VOCAB, (2, TIME))
    changed = codes.clone()
    changed[0, -1] = (changed[0, -1] + 1) % VOCAB
    with torch.no_grad():
        assert not torch.allclose(model(changed)[0, 0], model(codes)[0, 0])
    d = WIDTH
    gru = 3 * (d * d + d * d + 2 * d)
    assert model.mixer_parameter_count() == BLOCKS * 2 * gru  # the merge projection is the backbone's
    assert sum(p.numel() for p in model.blocks[0].merge.parameters()) == 2 * d * d + d


def test_block_inputs_are_integer_codes_never_one_hot() -> None:
    model = block_model("mingru")
    codes = torch.randint(0, VOCAB, (3, TIME))
    assert model.encode(codes).shape == (3, TIME)
    assert model.encode(codes).dtype == torch.long


def test_scoring_only_counted_positions_gives_the_full_models_figures() -> None:
    data = random_task(samples=10, steps=TIME, vocab=VOCAB, ignored=0.7)
    config = CellConfig(VOCAB, WIDTH, BLOCKS, False, TIME)
    session = open_session(get_registry().cell("mingru"), config, data, TrainingSettings(lr=0.01, seed=0), "block")
    stats = session.evaluate("train")
    # Independently: the full logits at every step, cross-entropy and argmax over the counted targets only.
    with torch.no_grad():
        logits = session.model.eval()(torch.as_tensor(data.x_train)).numpy()
    y = np.asarray(data.y_train)
    counted = y >= 0
    picked = logits[counted]
    log_probs = picked - np.log(np.exp(picked - picked.max(1, keepdims=True)).sum(1, keepdims=True)) - picked.max(
        1, keepdims=True)
    loss = -log_probs[np.arange(len(picked)), y[counted]].mean()
    assert stats.loss == pytest.approx(loss, rel=1e-5)
    assert stats.accuracy == pytest.approx((picked.argmax(1) == y[counted]).mean())
    np.testing.assert_array_equal(stats.row_correct, ((logits.argmax(-1) == y) & counted).sum(1))


def test_scaled_init_shrinks_residual_outputs_by_sqrt_2L() -> None:
    model = block_model("transformer", "nanogpt")
    std = 0.02 / math.sqrt(2 * BLOCKS)
    for block in model.blocks:
        for output in (block.mixer.out_proj.weight, block.mlp.out_proj.weight):
            assert output.std().item() == pytest.approx(std, rel=0.1)
        assert block.mlp.up.weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert model.head.weight is model.embedding.weight


def test_block_refuses_a_numpy_cell_and_a_recipe_under_stack() -> None:
    with pytest.raises(BenchInputError, match="backbone 'block' has no numpy model"):
        build_model(get_registry().cell("numpy-rnn"), CellConfig(5, 4), 5, 0, "block")
    with pytest.raises(BenchInputError, match="recipe shapes only the block backbone"):
        build_model(get_registry().cell("gru"), CellConfig(5, 4), 5, 0, "stack", BlockRecipe())


def test_bad_recipes_are_refused_with_the_allowed_values() -> None:
    with pytest.raises(BenchInputError, match="norm must be one of layernorm, rmsnorm"):
        recipe(norm="batchnorm")
    with pytest.raises(BenchInputError, match="unknown block preset 'gpt5'"):
        recipe("gpt5")


def test_block_state_size_sums_each_mixers_state() -> None:
    data = random_task(samples=4, steps=TIME, vocab=VOCAB)
    config = CellConfig(VOCAB, WIDTH, 3, False, TIME)
    session = open_session(get_registry().cell("lstm"), config, data, TrainingSettings(lr=0.01), "block")
    assert session.state_size() == 3 * 2 * WIDTH  # three mixers, each an LSTM's h and c
