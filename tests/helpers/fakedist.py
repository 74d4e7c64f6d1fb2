"""Installed-looking distributions for tests: a module plus a dist-info folder that importlib.metadata finds."""
from __future__ import annotations

from pathlib import Path

MINGRU_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "benchsuite-mingru"


def fake_install(site: Path, dist: str, version: str, entry_points: dict[str, str],
                 modules: dict[str, str] | None = None, group: str = "benchsuite") -> Path:
    """Write `modules` (name -> source) and a dist-info declaring `entry_points` into `site`; return `site`."""
    site.mkdir(parents=True, exist_ok=True)
    for name, source in (modules or {}).items():
        (site / f"{name}.py").write_text(source)
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{group}]\n{lines}")
    return site


def fake_install_mingru(site: Path) -> list[Path]:
    """The example package as `pip install examples/benchsuite-mingru` would expose it: the sys.path entries."""
    fake_install(site, "benchsuite-mingru", "0.1.0", {"mingru": "benchsuite_mingru"})
    return [site, MINGRU_EXAMPLE]
