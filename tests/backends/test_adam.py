"""The torch backend's own Adam against the independent oracle, torch.optim's Adam and AdamW: parameters and
moments bit for bit, through lr changes, clipping, skipped parameters and loss scaling; and a run that never
imports torch._dynamo (torch.optim's first optimizer does)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from benchsuite.backends.torch_backend import optimizer_for
from helpers.startup import run_bench

STEPS, LR_CHANGE_STEP, LR, CLIP = 40, 20, 0.05, 1.0
SKIPPED = "layer.weight_hh_l0"  # left without a gradient now and then


class SmallModel(nn.Module):
    """Matrices and biases (an LSTM layer and a linear head), and a complex vector, which Adam updates as pairs of
    reals."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layer = nn.LSTM(3, 4)
        self.head = nn.Linear(4, 3)
        self.phase = nn.Parameter(torch.randn(4, dtype=torch.cfloat))


def torch_optimizer(model: nn.Module, weight_decay: float, foreach: bool = False) -> torch.optim.Optimizer:
    """torch.optim's Adam, or AdamW with decay on the matrices only, built here as a user would; in its single-tensor
    form (its CPU default) or its foreach form (its CUDA default)."""
    if not weight_decay:
        return torch.optim.Adam(model.parameters(), lr=LR, foreach=foreach)
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    others = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": matrices, "weight_decay": weight_decay},
                              {"params": others, "weight_decay": 0.0}], lr=LR, foreach=foreach)


def assert_same_state(ours, ours_model: nn.Module, theirs: torch.optim.Optimizer, theirs_model: nn.Module) -> None:
    for mine, other in zip(ours_model.parameters(), theirs_model.parameters(), strict=True):
        assert torch.equal(mine, other)
        assert (mine in ours.state) == (other in theirs.state)  # a parameter never given a gradient has no state
        if mine not in ours.state:
            continue
        state, expected = ours.state[mine], theirs.state[other]
        assert state["step"] == expected["step"].item()
        assert torch.equal(state["exp_avg"], expected["exp_avg"])
        assert torch.equal(state["exp_avg_sq"], expected["exp_avg_sq"])


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("clip", [None, CLIP])
@pytest.mark.parametrize("foreach", [False, True])
def test_updates_are_torch_optims_bit_for_bit(weight_decay: float, clip: float | None, foreach: bool) -> None:
    ours_model, theirs_model = SmallModel(), SmallModel()
    ours = optimizer_for(ours_model, LR, weight_decay)
    theirs = torch_optimizer(theirs_model, weight_decay, foreach)
    assert [len(group["params"]) for group in ours.param_groups] == [len(g["params"]) for g in theirs.param_groups]
    generator = torch.Generator().manual_seed(1)
    clipped = 0
    for step in range(STEPS):
        if step == LR_CHANGE_STEP:  # as the lr schedule does
            for group in [*ours.param_groups, *theirs.param_groups]:
                group["lr"] = LR / 3
        scale = 10.0 if step % 3 == 0 else 0.01  # large gradients, which the clip shrinks, and small ones
        gradients = {name: torch.randn(p.shape, dtype=p.dtype, generator=generator) * scale
                     for name, p in ours_model.named_parameters()}
        if step % 7 == 3:  # a parameter without a gradient is skipped, its step count too
            gradients[SKIPPED] = None
        for model, optimizer in ((ours_model, ours), (theirs_model, theirs)):
            for name, parameter in model.named_parameters():
                parameter.grad = None if gradients[name] is None else gradients[name].clone()
            if clip is not None:
                norm = nn.utils.clip_grad_norm_(list(model.parameters()), clip)
                clipped += bool(norm > clip)
            optimizer.step()
    assert_same_state(ours, ours_model, theirs, theirs_model)
    assert clip is None or clipped > STEPS // 4  # the clip did bind
    assert ours.state[ours_model.get_parameter(SKIPPED)]["step"] < STEPS  # and the skipped parameter was skipped


def test_grad_scaler_unscales_skips_and_steps_it_as_it_does_torch_optims() -> None:
    """The fp16 path's loss scaling (CUDA only in the suite) drives any optimizer the same way; on the CPU too.
    (The CPU's unscale has no complex kernel: the complex parameter stays out of the loss, so without a gradient.)"""
    ours_model, theirs_model = SmallModel(), SmallModel()
    ours, theirs = optimizer_for(ours_model, LR, 0.0), torch_optimizer(theirs_model, 0.0)
    scalers = [torch.amp.GradScaler("cpu", init_scale=2.0 ** 8, growth_interval=3) for _ in range(2)]
    generator = torch.Generator().manual_seed(2)
    for step in range(12):
        x = torch.randn(5, 2, 3, generator=generator)
        for model, optimizer, scaler in ((ours_model, ours, scalers[0]), (theirs_model, theirs, scalers[1])):
            for parameter in model.parameters():
                parameter.grad = None
            output, _ = model.layer(x)
            loss = (model.head(output) ** 2).mean()
            scaler.scale(loss).backward()
            if step == 5:  # an overflow: the scaler skips the step and halves its scale
                model.head.bias.grad[0] = float("inf")
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(list(model.parameters()), CLIP)
            scaler.step(optimizer)
            scaler.update()
    assert scalers[0].get_scale() == scalers[1].get_scale() < 2.0 ** 8 * 2 ** 3  # grew, and once halved
    assert ours.state[ours_model.head.bias]["step"] == 11
    assert_same_state(ours, ours_model, theirs, theirs_model)


def test_a_run_never_imports_torch_dynamo(tmp_path) -> None:
    """torch.optim's first optimizer imports torch._dynamo (over a second); the backend's own Adam does not."""
    code, _, stderr, imported = run_bench(
        ["run", "--tasks", "apple", "--cells", "lstm", "--seeds", "0", "--epochs", "3", "--weight-decay", "0,0.01",
         "--clip", "1", "--threads", "1", "--quiet", "--no-report", "--out", str(tmp_path)])
    assert code == 0, stderr
    assert "torch" in imported and "torch._dynamo" not in imported
