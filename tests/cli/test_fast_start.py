"""`bench --help`, `bench list` and `bench plugins` import neither torch, pandas, ray nor any tracker's library, even
with outside plugins installed; a broken outside package leaves `bench list` working and names it."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchsuite.registry.loading import LOAD_ENV
from helpers.fakedist import fake_install, fake_install_mingru
from helpers.startup import run_bench


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """sys.path entries where the example package and a package whose import raises are 'installed'."""
    monkeypatch.setenv(LOAD_ENV, "mingru,broken")  # the child inherits it; the session loads none unless named
    site = tmp_path / "site"
    fake_install(site, "benchsuite-broken", "0.0.1", {"broken": "benchsuite_broken"},
                 {"benchsuite_broken": "raise ImportError('this plugin needs a module that is not installed')\n"})
    return fake_install_mingru(site)


@pytest.mark.parametrize("args", [["--help"], ["list"], ["plugins"], ["run", "--help"], ["export", "--help"]])
def test_light_commands_import_neither_torch_nor_pandas_nor_ray(args: list[str], installed: list[Path]) -> None:
    code, stdout, _, imported = run_bench(args, installed)
    assert code == 0 and stdout
    assert not {"torch", "pandas", "ray", "mlflow", "tensorboard", "wandb"} & set(imported)


def test_help_does_not_even_import_pluggy() -> None:
    code, _, _, imported = run_bench(["--help"])
    assert code == 0 and imported == []


def test_broken_package_leaves_bench_list_working(installed: list[Path]) -> None:
    code, stdout, stderr, _ = run_bench(["list"], installed)
    assert code == 0
    assert "plugin 'broken'" in stderr and "this plugin needs a module" in stderr
    assert "Traceback" not in stderr
    cells = {line.split()[0] for line in stdout.split("Tasks:")[0].splitlines()[2:] if line.strip()}
    assert {"rnn", "lstm", "gru", "mingru", "minlstm", "lru", "transformer", "mingru-loop"} <= cells


def test_strict_plugins_turn_the_broken_package_into_exit_2(installed: list[Path]) -> None:
    code, _, stderr, _ = run_bench(["list"], installed, env={"BENCHSUITE_STRICT_PLUGINS": "1"})
    assert code == 2
    assert "plugin 'broken'" in stderr and "Traceback" not in stderr


def test_disabled_package_is_not_even_imported(installed: list[Path]) -> None:
    code, stdout, stderr, _ = run_bench(["plugins"], installed, env={"BENCHSUITE_DISABLE_PLUGINS": "broken"})
    assert code == 0 and stderr == ""
    assert any(line.split()[:3] == ["broken", "0.0.1", "disabled"] for line in stdout.splitlines())
