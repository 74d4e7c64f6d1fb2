"""The architecture holds: import-linter checks the layers, the absence of import cycles, that compare and report
stand apart, and that built-in plugins use only the public API (contracts in pyproject.toml's [tool.importlinter])."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    contracts = (ROOT / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    assert f"Contracts: {contracts} kept, 0 broken." in result.stdout  # every contract was checked


def test_a_layer_violation_is_caught(tmp_path: Path) -> None:
    """The check can fail: the same contracts reject a results module that imports the sweep above it."""
    config = tmp_path / "contracts.ini"
    config.write_text("[importlinter]\nroot_package = benchsuite\n\n[importlinter:contract:layers]\nname = layers\n"
                      "type = layers\nlayers =\n    benchsuite.results\n    benchsuite.sweep\n")
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(config), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1, result.stdout
    assert "benchsuite.sweep is not allowed to import benchsuite.results" in result.stdout
