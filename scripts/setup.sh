#!/usr/bin/env bash
# Sets benchsuite up in ./.venv from a bare Python: torch first, then the package with its dev, ray and tracker extras
# (the tests run sweeps on a real Ray instance and export to real MLflow, TensorBoard and W&B stores). The extras are
# installed under a constraint that pins the torch installed here, so none of them can pull another torch.
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
TORCH_PIN=$(mktemp)
trap 'rm -f "$TORCH_PIN"' EXIT
.venv/bin/python -c "import torch; print(f'torch=={torch.__version__}')" > "$TORCH_PIN"
.venv/bin/python -m pip install --quiet -c "$TORCH_PIN" -e '.[dev,ray,mlflow,tensorboard,wandb]'
# An editable install writes no bytecode, and where PYTHONDONTWRITEBYTECODE is set every `bench` start would compile
# the package again (~13 ms of a ~150 ms `bench --help`); Python ignores a .pyc whose source changed since.
.venv/bin/python -m compileall -q benchsuite benchsuite_plugins >/dev/null
echo "benchsuite is set up in .venv (activate it with: source .venv/bin/activate)"
