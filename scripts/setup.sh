#!/usr/bin/env bash
# Sets benchsuite up in ./.venv from a bare Python: torch first, then the package with its dev and ray extras
# (the tests run sweeps on a real Ray instance; ray does not depend on torch, so the torch installed here stays).
# torch is pinned here (not in pyproject) because on machines that keep a CPU build of torch 2.13.0 on disk,
# pip takes it from there in seconds, where an unpinned torch would pull a multi-GB CUDA build.
# Set TORCH_SPEC to choose another torch (e.g. TORCH_SPEC=torch for your platform's usual build).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet "$TORCH_SPEC"
fi
.venv/bin/python -m pip install --quiet -e '.[dev,ray]'
# An editable install writes no bytecode, and where PYTHONDONTWRITEBYTECODE is set every `bench` start would compile
# the package again (~13 ms of a ~150 ms `bench --help`); Python ignores a .pyc whose source changed since.
.venv/bin/python -m compileall -q benchsuite benchsuite_plugins >/dev/null
echo "benchsuite is set up in .venv (activate it with: source .venv/bin/activate)"
