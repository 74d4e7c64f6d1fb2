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


# Standard-library modules newer than some Python the package might claim, with the version that added them.
STDLIB_ADDED = {"tomllib": (3, 11), "wsgiref.types": (3, 11)}


def test_the_lowest_python_claimed_has_every_module_the_code_imports() -> None:
    """pyproject's requires-python and the README's "Python 3.N+" name one version that has the standard library
    the code imports (tomllib is 3.11+: a 3.10 claim crashed on --config)."""
    import re
    import tomllib

    claimed = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    lowest = tuple(int(part) for part in re.fullmatch(r">=\s*(\d+)\.(\d+)", claimed).groups())
    sources = [path for folder in ("benchsuite", "benchsuite_plugins", "examples")
               for path in (ROOT / folder).rglob("*.py")]
    for path in sources:
        for module in re.findall(r"^\s*(?:import|from)\s+([\w.]+)", path.read_text(), flags=re.MULTILINE):
            assert STDLIB_ADDED.get(module, (0, 0)) <= lowest, f"{path} imports {module}, newer than Python {claimed}"
    assert f"Python {lowest[0]}.{lowest[1]}+" in (ROOT / "README.md").read_text()
