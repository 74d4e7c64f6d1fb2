"""The example plugin package (examples/benchsuite-mingru), 'installed' by a dist-info on sys.path:
its cell and task behave like built-ins in `bench list` and `bench run`, and it passes the kit."""
from __future__ import annotations

from pathlib import Path

import pytest

import benchsuite
from benchsuite import testing
from benchsuite.registry.loading import LOAD_ENV, get_registry
from helpers.fakedist import fake_install_mingru

VOCAB, HIDDEN = 4, 8  # the reverse task's default symbols 'abcd'; a small hidden size keeps the test fast


@pytest.fixture
def mingru_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(LOAD_ENV, "mingru")  # the session loads no installed entry point unless named
    for entry in reversed(fake_install_mingru(tmp_path / "site")):
        monkeypatch.syspath_prepend(str(entry))
    get_registry.cache_clear()
    yield
    get_registry.cache_clear()


def test_example_registers_and_passes_the_kit(mingru_installed) -> None:
    import benchsuite_mingru

    cells, tasks = testing.registered_specs(benchsuite_mingru)
    assert [(c.name, c.native_variants) for c in cells] == [("mingru-loop", False)]
    assert [(t.name, t.causal) for t in tasks] == [("reverse", False)]
    testing.check_cell(cells[0])
    testing.check_task(tasks[0])


def test_example_appears_in_the_registry_with_its_version(mingru_installed) -> None:
    registry = get_registry()
    assert registry.cells["mingru-loop"].plugin == "mingru" and registry.tasks["reverse"].plugin == "mingru"
    info = next(info for info in registry.plugins if info.name == "mingru")
    assert (info.version, info.origin) == ("0.1.0", "entry point of benchsuite-mingru")


def mingru_params(size: int, hidden: int) -> int:
    return 2 * (size * hidden + hidden)  # a gate and a candidate, each a linear map of the input


@pytest.mark.usefixtures("one_thread")  # tiny sizes: extra threads only slow a busy machine down
def test_example_trains_in_bench_run_with_composed_variants(mingru_installed, tmp_path: Path) -> None:
    table = benchsuite.run(tasks="reverse", cells="mingru-loop", layers="1,2", directions="uni,bi", hidden=HIDDEN,
                           epochs=3, seeds="0", device="cpu", out=str(tmp_path / "out"),
                           task_opts={"reverse": {"samples": "40"}})
    assert list(table["status"]) == ["ok"] * 4, table["error"].tolist()
    for row in table.itertuples():
        directions = 2 if row.bidirectional else 1
        layers = [mingru_params(VOCAB if layer == 0 else HIDDEN * directions, HIDDEN) * directions
                  for layer in range(row.num_layers)]
        head = HIDDEN * directions * VOCAB + VOCAB
        assert row.params == sum(layers) + head, (row.num_layers, row.bidirectional)
