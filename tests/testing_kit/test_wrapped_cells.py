"""The plugin contract as wrapped PyPI layers need it (issue 18), with the small wrapper cells of wrapped_cells.py:
state-less layers, time-first layers caught by the kit, a seed-independent verdict, per-cell optimizer defaults,
--cell-opt, the sequence length at build time, hidden-size constraints, complex parameters, native stacks."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from benchsuite import CellConfig, CellSpec, get_task
from benchsuite.backbones import open_session
from benchsuite.backends import TrainingSettings
from benchsuite.planning.grid import plan_task
from benchsuite.planning.options import RunOptions
from benchsuite.results.files import read_csv_rows
from benchsuite.testing import KitWarning, check_cell, registered_specs
from helpers import wrapped_cells
from helpers.cli import assert_bad_input
from helpers.runs import only_run_dir

CELLS = {spec.name: spec for spec in registered_specs(wrapped_cells)[0]}


@pytest.fixture
def plugins(tmp_path):
    return str(wrapped_cells.plugin_folder(tmp_path / "plugins"))


def run_rows(bench, tmp_path, *args: str) -> list[dict[str, str]]:
    result = bench("run", "--device", "cpu", "--no-report", "--quiet", "--out", str(tmp_path / "out"), *args)
    assert result.exit_code == 0, result.output
    return read_csv_rows(only_run_dir(tmp_path / "out") / "runs.csv")


def torch_params(*modules: nn.Module) -> int:
    return sum(p.numel() for module in modules for p in module.parameters())


# ------------------------------------------------------------------------------------------- state-less layers

@pytest.mark.usefixtures("one_thread")
def test_a_stateless_layer_returning_none_passes_the_kit_and_runs(tmp_path, bench, plugins):
    check_cell(CELLS["stateless"])
    rows = run_rows(bench, tmp_path, "--tasks", "apple,cloze", "--task-opt", "cloze.samples=40", "--cells",
                    "stateless", "--layers", "1,2", "--directions", "uni,bi", "--epochs", "3", "--plugins-dir",
                    plugins)
    statuses = {(row["task"], row["num_layers"], row["bidirectional"]): row["status"] for row in rows}
    # apple is causal: its bidirectional variants are skipped; every other variant, composed ones too, trains.
    assert statuses == {("apple", "1", "False"): "ok", ("apple", "2", "False"): "ok",
                        ("apple", "1", "True"): "skipped", ("apple", "2", "True"): "skipped",
                        ("cloze", "1", "False"): "ok", ("cloze", "2", "False"): "ok",
                        ("cloze", "1", "True"): "ok", ("cloze", "2", "True"): "ok"}
    assert all(0 <= float(row["accuracy"]) <= 1 for row in rows if row["status"] == "ok")


def test_a_returned_state_must_be_real():
    class ComplexState(wrapped_cells.ComplexDiagonal):
        def forward(self, x):
            output, _ = super().forward(x)
            return output, torch.zeros(1, x.shape[0], self.nu.shape[0], dtype=torch.complex64)

    with pytest.raises(AssertionError, match=r"h_n has shape \(1, 3, 4\) and is complex.* must be real and shaped "
                                             r"as torch's; a layer without such a state returns \(output, None\)"):
        check_cell(CellSpec("complex-state", "torch", ComplexState))


# ------------------------------------------------------------------------------------------- the batch axis

def test_a_time_first_layer_is_refused_naming_the_axis():
    with pytest.raises(AssertionError, match=r"changing only sample 0 of the batch changed the output of sample 1.*"
                                             r"\(time, batch, features\).*batch_first=True"):
        check_cell(CELLS["time-first"])
    check_cell(CELLS["time-first-done"])  # the same LSTM, transposed around, keeps the contract


# ------------------------------------------------------------------------------------------- seeds

def _verdict(spec: CellSpec) -> str:
    try:
        check_cell(spec)
    except AssertionError as exc:
        return str(exc)
    return "pass"


@pytest.mark.usefixtures("one_thread")
def test_the_kit_verdict_does_not_depend_on_the_global_random_state():
    # A ReLU convolution leaves some units dead on some batches: judged on one unseeded batch, 9 of these 20
    # seeds failed it as "no gradient reaches parameter".
    verdicts = set()
    for seed in range(20):
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        before = torch.get_rng_state()
        verdicts.add(_verdict(CELLS["relu-conv"]))
        assert torch.equal(torch.get_rng_state(), before), "the kit changed the caller's random state"
    assert verdicts == {"pass"}


def test_a_parameter_without_gradient_on_every_batch_is_still_detached():
    class Unused(wrapped_cells.ReluConv):
        def __init__(self, config):
            super().__init__(config)
            self.unused = nn.Parameter(torch.ones(3))

    with pytest.raises(AssertionError, match=r"no gradient reaches parameter 'unused' on any of 4 random batches"):
        check_cell(CellSpec("unused", "torch", Unused))


# ------------------------------------------------------------------------------------------- optimizer defaults

def _job(cell: CellSpec, task: str = "apple", **options):
    spec = get_task(task)
    (job,) = plan_task(RunOptions.parse(tasks=task, **options), task, spec.causal, spec.defaults, [cell], "cpu")
    return job


def _session(cell: CellSpec, job):
    data = get_task(job.task).build()
    config = CellConfig(len(data.vocab), job.hidden_size)
    settings = TrainingSettings(lr=job.settings["lr"], batch_size=job.settings["batch_size"],
                                clip=job.settings["clip"], weight_decay=job.settings["weight_decay"])
    return open_session(cell, config, data, settings), data


def test_cell_defaults_reach_the_optimizer_above_the_task_defaults():
    tuned = CELLS["tuned-gru"]
    job = _job(tuned)
    assert get_task("apple").defaults["lr"] != tuned.defaults["lr"]  # the cell's lr wins over the task's
    session, _ = _session(tuned, job)
    decayed, undecayed = session.optimizer.param_groups  # weight decay (AdamW's) reaches only the matrices
    assert (decayed["lr"], decayed["weight_decay"], session.clip) == (0.003, 0.01, 0.5)
    assert (undecayed["lr"], undecayed["weight_decay"]) == (0.003, 0.0)

    session.train_step(next(iter(session.batches(1))))
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in session.model.parameters()]))
    assert norm <= 0.5 + 1e-5  # the gradient the update used was clipped


def test_the_command_line_overrides_cell_defaults():
    job = _job(CELLS["tuned-gru"], lr="0.02", clip="2", weight_decay="0")
    session, _ = _session(CELLS["tuned-gru"], job)
    (group,) = session.optimizer.param_groups  # weight decay 0: plain Adam, one group
    assert (group["lr"], group["weight_decay"], session.clip) == (0.02, 0, 2.0)
    plain = _job(CELLS["stateless"])  # a cell without defaults keeps the task's lr and no clipping
    assert (plain.settings["lr"], plain.settings["clip"], plain.settings["weight_decay"]) == (
        get_task("apple").defaults["lr"], None, 0.0)


def test_runs_record_each_rows_optimizer_settings(tmp_path, bench, plugins):
    rows = run_rows(bench, tmp_path, "--tasks", "apple", "--cells", "tuned-gru,rnn", "--epochs", "2",
                    "--plugins-dir", plugins)
    settings = {row["cell"]: (row["lr"], row["clip"], row["weight_decay"]) for row in rows}
    assert settings == {"tuned-gru": ("0.003", "0.5", "0.01"), "rnn": ("0.1", "", "0.0")}
    rows = run_rows(bench, tmp_path / "again", "--tasks", "apple", "--cells", "tuned-gru", "--epochs", "2",
                    "--clip", "3", "--plugins-dir", plugins)
    assert (rows[0]["lr"], rows[0]["clip"]) == ("0.003", "3.0")


@pytest.mark.parametrize("defaults, message", [
    ({"hidden_size": 8}, "defaults name hidden_size; a cell may suggest lr, clip, weight_decay"),
    ({"lr": 0}, r"defaults\['lr'\] must be a finite number above 0, got 0"),
    ({"weight_decay": -1}, r"defaults\['weight_decay'\] must be a finite number at or above 0"),
])
def test_bad_cell_defaults_are_refused_when_registered(defaults, message):
    with pytest.raises(ValueError, match=message):
        CellSpec("bad", "torch", wrapped_cells.build_gru, defaults=defaults)


def test_bench_list_shows_cell_defaults_options_and_the_precedence(bench, plugins):
    result = bench("list", "--plugins-dir", plugins)
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "lr=0.003 clip=0.5 weight_decay=0.01" in lines["tuned-gru"]
    assert "heads=4" in lines["heads"]
    assert "command line > cell defaults > task defaults > suite defaults" in result.output


# ------------------------------------------------------------------------------------------- --cell-opt

@pytest.mark.usefixtures("one_thread")
def test_cell_opt_reaches_build_typed(tmp_path, bench, plugins):
    (row,) = run_rows(bench, tmp_path, "--tasks", "apple", "--cells", "heads", "--hidden", "8", "--epochs", "2",
                      "--cell-opt", "heads.heads=2", "--plugins-dir", plugins)
    vocab = len(get_task("apple").build().vocab)
    two_heads = torch_params(nn.RNN(vocab, 4), nn.RNN(vocab, 4), nn.Linear(8, vocab))
    assert (row["status"], int(row["params"]), row["cell_options"]) == ("ok", two_heads, "heads=2")


@pytest.mark.usefixtures("one_thread")
def test_a_saved_model_is_rebuilt_with_its_cell_options(tmp_path, bench, plugins):
    rows = run_rows(bench, tmp_path, "--tasks", "apple", "--cells", "heads", "--hidden", "8", "--epochs", "100",
                    "--cell-opt", "heads.heads=2", "--save-models", "--plugins-dir", plugins)
    assert rows[0]["prediction"] == "pple!"
    # With the default 4 heads the saved weights would not fit the rebuilt layer. Plugin files load only from a
    # --plugins-dir given on the command line, never from the one the run folder records.
    result = bench("sample", str(only_run_dir(tmp_path / "out")), "--cell", "heads", "--prime", "a", "--length", "4",
                   "--temperature", "0", "--plugins-dir", plugins)
    assert (result.exit_code, result.stdout) == (0, "apple\n"), result.output


@pytest.mark.parametrize("option, message", [
    ("heads.heads=two", "--cell-opt heads.heads=two: expected a whole number, like 4"),
    ("heads.width=3", "--cell-opt heads.width: cell 'heads' has no option 'width'; its options: heads"),
    ("rnn.heads=3", "--cell-opt rnn.*: cell 'rnn' is not among this run's cells (heads)"),
    ("heads", "--cell-opt 'heads': expected CELL.KEY=VALUE"),
])
def test_bad_cell_opt_is_exit_2(tmp_path, bench, plugins, option, message):
    assert_bad_input(bench("run", "--tasks", "apple", "--cells", "heads", "--cell-opt", option, "--plugins-dir",
                           plugins, "--out", str(tmp_path)), message)


# ------------------------------------------------------------------------------------------- sequence length

@pytest.mark.usefixtures("one_thread")
def test_the_tasks_longest_sequence_reaches_build(tmp_path, bench, plugins):
    rows = run_rows(bench, tmp_path, "--tasks", "apple,ship", "--task-opt", "ship.seq_len=12", "--cells", "per-step",
                    "--hidden", "6", "--layers", "1,2", "--epochs", "1", "--plugins-dir", plugins)
    for row in rows:
        data = get_task(row["task"]).build(**({"seq_len": 12} if row["task"] == "ship" else {}))
        vocab, steps = len(data.vocab), data.x_train.shape[1]
        layers = [nn.GRU(vocab, 6)] + [nn.GRU(6, 6)] * (int(row["num_layers"]) - 1)
        gates = int(row["num_layers"]) * steps * 6  # one (steps, hidden) gate per layer
        assert int(row["params"]) == torch_params(*layers, nn.Linear(6, vocab)) + gates, row


# ------------------------------------------------------------------------------------------- constraints

def test_a_constraint_skips_unfit_variants_naming_sizes_that_fit(tmp_path, bench, plugins):
    rows = run_rows(bench, tmp_path, "--tasks", "ship", "--cells", "heads", "--layers", "1", "--epochs", "1",
                    "--plugins-dir", plugins)  # ship suggests hidden_size 25
    assert [(row["status"], row["error"]) for row in rows] == [
        ("skipped", "cell 'heads' cannot be built for hidden_size 25: hidden_size must be a multiple of heads (4); "
                    "hidden sizes that fit: 24, 28")]
    rows = run_rows(bench, tmp_path / "five", "--tasks", "ship", "--cells", "heads", "--layers", "1", "--epochs",
                    "1", "--cell-opt", "heads.heads=5", "--plugins-dir", plugins)
    assert [row["status"] for row in rows] == ["ok"]


def test_the_kit_tries_built_in_task_sizes_unless_the_constraint_refuses_them():
    check_cell(CELLS["heads"])  # hidden 5 and 25 (apple, ship) are refused by its constraint, so not tried
    undeclared = CellSpec("undeclared", "torch", wrapped_cells.build_heads)
    with pytest.raises(AssertionError, match=r"cell 'undeclared' \(hidden_size 5, as built-in task 'apple' uses\): "
                                             r"build raised AssertionError"):
        check_cell(undeclared)


def test_the_kit_tries_one_long_sequence():
    class ShortContext(wrapped_cells.PerStepGate):
        def __init__(self, config):
            super().__init__(CellConfig(config.input_size, config.hidden_size, max_seq_len=256))

    with pytest.raises(AssertionError, match=r"\(a sequence of 1000 steps\): forward raised RuntimeError"):
        check_cell(CellSpec("short-context", "torch", ShortContext))
    check_cell(CELLS["per-step"])  # built for the length it is given, it reads it


# ------------------------------------------------------------------------------------------- parameter counts

def test_a_complex_parameter_counts_twice():
    cell = CELLS["complex"]
    check_cell(cell)
    job = _job(cell)
    session, data = _session(cell, job)
    hidden, vocab = job.hidden_size, len(data.vocab)
    real_scalars = hidden + hidden + 2 * hidden * vocab  # nu, theta, and B's real and imaginary parts
    assert session.param_count == real_scalars + torch_params(nn.Linear(hidden, vocab))


def test_a_native_stack_with_fewer_parameters_is_a_warning_not_a_failure():
    stack = torch_params(nn.GRU(5, 4, num_layers=2, bias=False))
    layers = torch_params(nn.GRU(5, 4)), torch_params(nn.GRU(4, 4))
    with pytest.warns(KitWarning) as caught:
        check_cell(CELLS["lean-stack"])
    messages = [str(warning.message) for warning in caught]
    # One warning per variant whose stack drops biases: 1 layer bidirectional, 2 layers in both directions.
    assert len(messages) == 3 and all("the native stack has" in message for message in messages)
    assert (f"cell 'lean-stack' (2 layers, unidirectional): the native stack has {stack} parameters, the 2 single "
            f"unidirectional layer(s) it stands for have {sum(layers)} ({layers[0]} + {layers[1]})") in messages[1]
