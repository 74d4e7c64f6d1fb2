"""Run `bench` in a fresh interpreter and report which slow-to-import modules it imported (fast-start tests)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WATCHED = ("torch", "torch._dynamo", "pandas", "pluggy", "ray", "mlflow", "tensorboard", "wandb")
# Runs the CLI like the console script does, then names the watched modules it left in sys.modules.
DRIVER = f"""
import sys
from benchsuite.cli import main
try:
    main(sys.argv[1:], prog_name="bench")
except SystemExit as done:
    code = done.code
print("imported:" + ",".join(name for name in {WATCHED!r} if name in sys.modules), file=sys.stderr)
sys.exit(code)
"""


def run_bench(args: list[str], pythonpath: list[Path] = (), env: dict[str, str] | None = None):
    """(exit code, stdout, stderr without the driver's line, watched modules imported)."""
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), environment.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", DRIVER, *args], capture_output=True, text=True,
                          env=environment, timeout=120)
    lines = done.stderr.splitlines()
    report = [line for line in lines if line.startswith("imported:")]
    assert report, done.stderr
    return (done.returncode, done.stdout, "\n".join(line for line in lines if not line.startswith("imported:")),
            [name for name in report[-1][len("imported:"):].split(",") if name])
