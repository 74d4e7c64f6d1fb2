"""The conformance kit passes every registered cell and task and names what a broken one gets wrong."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from benchsuite import CellConfig, CellSpec, TaskData, TaskSpec, testing
from benchsuite.registry.loading import load_registry
from helpers.cell import SOURCE as HOOKED_RNN
from helpers.cell import HookedRNN

pytest_plugins = ["pytester"]
REGISTRY = load_registry()
# The built-in cells of each backend, named here: one that goes missing fails its test instead of vanishing from it.
BUILTIN_CELLS = {"torch": {"rnn", "lstm", "gru", "mingru", "minlstm", "lru", "transformer"}, "numpy": {"numpy-rnn"}}


def cells_of(backend: str) -> list[str]:
    """The built-in cells of `backend` and any other cell registered for it."""
    registered = {name for name, entry in REGISTRY.cells.items() if entry.spec.backend == backend}
    return sorted(BUILTIN_CELLS[backend] | registered)


@pytest.mark.parametrize("name", cells_of("torch"))
def test_kit_passes_registered_torch_cells(name: str) -> None:
    testing.check_cell(name)


@pytest.mark.parametrize(("name", "options"), [("mingru", {"expansion": 2.0}), ("transformer", {"heads": 2})])
def test_kit_passes_built_in_cells_with_their_options(name: str, options: dict) -> None:
    testing.check_cell(name, **options)  # an expanded minGRU's h_n is its wider state; heads refuse odd widths


@pytest.mark.parametrize("name", cells_of("numpy"))
def test_kit_passes_registered_numpy_cells(name: str) -> None:
    testing.check_cell(name)


@pytest.mark.parametrize("name", sorted(REGISTRY.tasks))
def test_kit_passes_registered_tasks(name: str, tmp_path: Path) -> None:
    options = {}
    if name == "text":  # the built-in task that reads a user's file
        corpus = tmp_path / "corpus.txt"
        corpus.write_text("a few words of text to learn from. " * 40, encoding="utf-8")
        options["path"] = str(corpus)
    testing.check_task(name, **options)


# --------------------------------------------------------------------------- torch cells that break the contract

# Each spoils the tests' working RNN layer (HookedRNN) in one way.

def drops_time(config: CellConfig) -> nn.Module:
    return HookedRNN(config, lambda layer, output: output[:, -1])


class FlatState(HookedRNN):
    def forward(self, x):
        output, h_n = self.rnn(x)
        return output, h_n[0]


class PeeksAhead(HookedRNN):
    def forward(self, x):
        output, h_n = self.rnn(torch.roll(x, -1, dims=1))
        return output, h_n


class UnusedParameter(HookedRNN):
    def __init__(self, config: CellConfig) -> None:
        super().__init__(config)
        self.forgotten = nn.Parameter(torch.zeros(3))


class KeepsState(HookedRNN):
    def forward(self, x):
        output, h_n = self.rnn(x, getattr(self, "last", None))
        self.last = h_n.detach()
        return output, h_n


class Unseeded(HookedRNN):
    def __init__(self, config: CellConfig) -> None:
        super().__init__(config)
        with torch.no_grad():
            for parameter in self.rnn.parameters():
                parameter.copy_(torch.from_numpy(__import__("numpy").random.default_rng().normal(
                    size=tuple(parameter.shape))))


class DivergesInTraining(HookedRNN):
    def forward(self, x):
        output, h_n = self.rnn(x)
        return (output * float("nan") if self.training else output), h_n


class ReturnsOutputOnly(HookedRNN):
    def forward(self, x):
        return self.rnn(x)[0]


def shared_builder():
    cache = {}

    def build(config: CellConfig) -> nn.Module:
        return cache.setdefault(config, HookedRNN(config))

    return build


@pytest.mark.parametrize("build, problem", [
    (drops_time, r"output has shape \(3, 4\), expected .* \(3, 7, 4\); the time axis is missing"),
    (FlatState, r"h_n has shape \(3, 4\), expected \(num_layers \* directions, batch, hidden_size\) = \(1, 3, 4\)"),
    (PeeksAhead, r"output at step 3 changed when only later inputs changed"),
    (UnusedParameter, r"no gradient reaches parameter 'forgotten'"),
    (KeepsState, r"same input gave a different output on a second call"),
    (ReturnsOutputOnly, r"must return a pair \(output, h_n\)"),
    (shared_builder(), r"1 layer, bidirectional\): the variant has 44 parameters, but the 2 single .* "
                       r"have 88 \(44 \+ 44\)"),
    (Unseeded, r"two models built with seed 0 give different losses"),
    (DivergesInTraining, r"did not lower the loss: [0-9.]+ before, nan after"),
    (lambda config: 1 / 0, r"cell 'broken' \(1 layer, unidirectional\): build raised ZeroDivisionError"),
])
def test_kit_names_what_a_torch_cell_gets_wrong(build, problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        testing.check_cell(CellSpec("broken", "torch", build))


def test_kit_checks_native_variants_against_their_composition() -> None:
    def ignores_layers(config: CellConfig) -> nn.Module:  # claims native variants but builds one layer always
        return nn.RNN(config.input_size, config.hidden_size, bidirectional=config.bidirectional, batch_first=True)

    with pytest.raises(AssertionError, match=r"\(2 layers, unidirectional\): h_n has shape \(1, 3, 4\)"):
        testing.check_cell(CellSpec("broken", "torch", ignores_layers, native_variants=True))


@pytest.mark.parametrize("spec, problem", [
    (CellSpec("two,cells", "torch", HookedRNN), "cell name 'two,cells' must be a non-empty string without"),
    (CellSpec("jaxcell", "jax", HookedRNN), "unknown backend 'jax'"),
])
def test_kit_checks_the_spec_itself(spec: CellSpec, problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        testing.check_cell(spec)


def test_kit_accepts_registered_names_and_rejects_other_objects() -> None:
    with pytest.raises(AssertionError, match="expected a CellSpec"):
        testing.check_cell(TaskSpec("apple", lambda: None))


# --------------------------------------------------------------------------- tasks that break the contract

def task(build, causal: bool = True, name: str = "bad", **fields) -> TaskSpec:
    return TaskSpec(name, build, causal=causal, **fields)


NEXT_CHAR = TaskData(list("abc"), [[0, 1, 2, 0]], [[1, 2, 0, 1]])


@pytest.mark.parametrize("spec, problem", [
    (task(lambda: NEXT_CHAR, causal=False), r"declared causal=False, but every target is the input 1 step"),
    (task(lambda: TaskData(list("ab"), [[0, 2]], [[1, 0]])), r"inputs must lie in 0..1 \(the vocabulary\), found 0..2"),
    (task(lambda: TaskData(list("ab"), [[0, 1]], [[1, 2]])), r"targets must be below 2"),
    (task(lambda: TaskData(list("ab"), [[0, 1]], [[1]])), r"must both have shape \(N, T\); got \(1, 2\) and \(1, 1\)"),
    (task(lambda: TaskData(list("ab"), [[0, 1]], [[-1, -1]])), r"every target is negative"),
    (task(lambda: TaskData(list("aa"), [[0, 1]], [[1, 0]])), r"vocab has repeated symbols"),
    (task(lambda: TaskData(list("ab"), [[0.0, 1.0]], [[1, 0]])), r"x_train must hold integers"),
    (task(lambda: TaskData(list("ab"), [[0, 1]], [[1, 0]], x_valid=[[0, 1]])), r"given together"),
    (task(lambda: TaskData(list("ab"), [[0, 1]], [[1, 0]], ceiling=1.5)), r"ceiling must lie in \(0, 1\]"),
    (task(lambda: TaskData(list("ab"), [[0, 1]], [[1, 0]]), defaults={"hidden": 3}), r"unknown hyperparameters"),
    (task(lambda: __import__("numpy").random.default_rng().integers(0, 1, (1, 1))), r"must return benchsuite.TaskData"),
    (task(lambda: TaskData(list("ab"), __import__("numpy").random.default_rng().integers(0, 2, (50, 4)),
                           [[0] * 4] * 50)), r"two builds with the same options give different x_train"),
    (task(lambda: NEXT_CHAR, name="delay.v2"), r"task name 'delay.v2' must be"),
    (task(lambda: NEXT_CHAR, causal="yes"), r"causal must be True or False"),
    (task(lambda size: NEXT_CHAR), r"build\(\*\*\{\}\) raised TypeError"),
])
def test_kit_names_what_a_task_gets_wrong(spec: TaskSpec, problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        testing.check_task(spec)


def test_kit_passes_a_non_causal_task_whose_targets_are_not_future_inputs() -> None:
    mirrored = TaskData(list("abc"), [[0, 1, 2, 0], [2, 2, 1, 0]], [[0, 2, 1, 0], [0, 1, 2, 2]])
    testing.check_task(task(lambda: mirrored, causal=False))
    testing.check_task(task(lambda: NEXT_CHAR, causal=True))


def test_kit_passes_task_options_to_build() -> None:
    testing.check_task("ship", seq_len=4)
    with pytest.raises(AssertionError, match="unexpected keyword argument 'width'"):
        testing.check_task("ship", width=4)


# --------------------------------------------------------------------------- the pytest plugin

def test_fixture_is_the_kit(benchsuite_kit, request: pytest.FixtureRequest) -> None:
    assert benchsuite_kit is testing
    assert request.config.pluginmanager.hasplugin("benchsuite")


def test_fixture_reports_the_kit_message_in_a_plugin_authors_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(HOOKED_RNN + textwrap.dedent('''
        from benchsuite import CellSpec

        def test_cell(benchsuite_kit):
            no_time = CellSpec("notime", "torch", lambda config: HookedRNN(config, lambda layer, out: out[:, -1]))
            benchsuite_kit.check_cell(no_time)

        def test_task(benchsuite_kit):
            benchsuite_kit.check_task("apple")
    '''))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: cell 'notime' (1 layer, unidirectional): output has shape*"
                                 "the time axis is missing*"])


# --------------------------------------------------------------------------- loose plugin files (--plugins-dir)

# Loose plugin files as `--plugins-dir` loads them: a good cell and a task, and a cell that drops the time axis.
LOOSE_PLUGIN = HOOKED_RNN + textwrap.dedent('''
    import numpy as np

    from benchsuite import CellSpec, TaskData, TaskSpec, hookimpl


    def tiny(seed=0):
        x = np.random.default_rng(seed).integers(0, 3, (8, 5))
        return TaskData(["a", "b", "c"], x, np.roll(x, -1, axis=1))


    @hookimpl
    def register_cells(register):
        register(CellSpec("loose_rnn", "torch", lambda config: HookedRNN(config)))


    @hookimpl
    def register_tasks(register):
        register(TaskSpec("loose_task", tiny))
''')
BROKEN_PLUGIN = HOOKED_RNN + textwrap.dedent('''
    from benchsuite import CellSpec, hookimpl


    @hookimpl
    def register_cells(register):
        register(CellSpec("loose_notime", "torch", lambda config: HookedRNN(config, lambda layer, out: out[:, -1])))
''')


def plugin_file(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(source, encoding="utf-8")
    return path


def test_kit_checks_every_cell_and_task_of_a_loose_plugin_file(tmp_path: Path) -> None:
    good, broken = plugin_file(tmp_path, "good.py", LOOSE_PLUGIN), plugin_file(tmp_path, "broken.py", BROKEN_PLUGIN)
    cells, tasks = testing.registered_specs(good)
    assert ([cell.name for cell in cells], [task.name for task in tasks]) == (["loose_rnn"], ["loose_task"])
    testing.check_cell(good)
    testing.check_task(str(good))  # the path as text, as a test would write it
    with pytest.raises(AssertionError, match="cell 'loose_notime' .*the time axis is missing"):
        testing.check_cell(str(broken))


def test_kit_names_a_loose_plugin_file_that_registers_nothing_to_check(tmp_path: Path) -> None:
    plugin = plugin_file(tmp_path, "tasks_only.py", "from benchsuite import hookimpl\n")
    with pytest.raises(AssertionError, match=r"tasks_only.py registers no cell"):
        testing.check_cell(plugin)
    with pytest.raises(AssertionError, match=r"no such plugin file"):
        testing.check_task(tmp_path / "missing.py")


def test_fixture_checks_a_loose_plugin_file_in_a_plugin_authors_test(pytester: pytest.Pytester) -> None:
    (pytester.path / "plugins").mkdir()
    plugin_file(pytester.path / "plugins", "mine.py", LOOSE_PLUGIN)
    plugin_file(pytester.path / "plugins", "broken.py", BROKEN_PLUGIN)
    pytester.makepyfile('''
        def test_good(benchsuite_kit):
            benchsuite_kit.check_cell("plugins/mine.py")
            benchsuite_kit.check_task("plugins/mine.py")

        def test_broken(benchsuite_kit):
            benchsuite_kit.check_cell("plugins/broken.py")
    ''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: cell 'loose_notime' (1 layer, unidirectional): output has shape*"])
