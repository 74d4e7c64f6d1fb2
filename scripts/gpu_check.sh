#!/usr/bin/env bash
# The GPU path checked on a machine with one GPU and no network, in under 8 minutes; its Python already holds torch
# and every dependency. Writes results/gpu_check.json and results/gpu_check.md:
#   1. the CUDA tests (every test whose name says cuda; they skip elsewhere),
#   2. a --device cuda sweep of every built-in torch cell on recall at hidden 256,
#   3. tests/benchmarks/gpu_timing.py: a DeepBench-sized LSTM through the harness against hand-written nn.LSTM
#      (cuDNN), both timed by CUDA events (harness within 1.2x), and the scan cells against lstm at T 512 and 2048.
# Usage: scripts/gpu_check.sh [--device cpu --quick]   (the second form is the CPU smoke test of this script)
# PYTHON picks the interpreter (default: python); BENCH_SKIP_INSTALL=1 skips `pip install --no-deps -e .`.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
DEVICE=cuda
QUICK=()
OUT=${GPU_CHECK_OUT:-results}
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --quick) QUICK=(--quick); shift ;;
    *) echo "gpu_check.sh: unknown argument $1 (expected --device cuda|cpu, --quick)" >&2; exit 2 ;;
  esac
done
if [ "${BENCH_SKIP_INSTALL:-0}" != 1 ]; then
  # Without network the build backend must already be there; failing that, the checkout itself is importable.
  if ! "$PYTHON" -m pip install --quiet --no-deps --no-build-isolation -e .; then
    echo "gpu_check.sh: pip install failed; using the checkout through PYTHONPATH" >&2
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
  fi
fi
mkdir -p "$OUT"
SWEEP="$OUT/gpu_check_sweep"
rm -rf "$SWEEP"

# The three parts' timeouts (120 + 180 + 150 s) add up to 7.5 minutes, inside the 8 the check may take.
# 1. The CUDA tests: under 2 minutes.
timeout 120 "$PYTHON" -m pytest -q -p no:cacheprovider -k cuda tests/backends tests/measurement tests/e2e
TESTS_RC=$?

# 2. The sweep: every built-in torch cell on recall at hidden 256 (numpy-rnn runs on the CPU only).
CELLS=rnn,lstm,gru,mingru,minlstm,lru,transformer
if [ ${#QUICK[@]} -gt 0 ]; then SIZE=(--hidden 8 --epochs 1 --task-opt recall.samples=64); else SIZE=(--hidden 256 --epochs 10); fi
timeout 180 "$PYTHON" -m benchsuite run --tasks recall --cells "$CELLS" "${SIZE[@]}" --device "$DEVICE" \
  --out "$SWEEP" --no-report --quiet
echo "sweep exit status: $?"

# 3. The timings, and the one results file.
timeout 150 "$PYTHON" tests/benchmarks/gpu_timing.py --device "$DEVICE" "${QUICK[@]}" --out "$OUT/gpu_check.json" \
  --sweep "$SWEEP" --tests-rc "$TESTS_RC"
TIMING_RC=$?
echo "results: $OUT/gpu_check.json, $OUT/gpu_check.md"
[ "$TESTS_RC" -eq 0 ] || [ "$TESTS_RC" -eq 5 ] || exit 1  # 5: no test collected
exit "$TIMING_RC"
