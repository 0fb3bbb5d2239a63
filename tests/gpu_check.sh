#!/usr/bin/env bash
# `make gpu-check`: the CUDA-marked tests and the diffusion benchmarks on a GPU.
# Finishes in under 5 minutes on one GPU (each stage has its own time limit).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
export PYTHONHASHSEED=0 MPLBACKEND=Agg CUBLAS_WORKSPACE_CONFIG=:4096:8
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu-check: no CUDA device visible to PyTorch" >&2
  exit 1
fi
"$PY" -c "import torch; print('GPU:', torch.cuda.get_device_name(0), '| torch', torch.__version__)"
echo "== CUDA tests"
timeout 200 "$PY" -m pytest -m cuda -q -p no:cacheprovider -x tests/
echo "== Part 2 graded on CUDA (the stored CPU answers must hold)"
timeout 60 "$PY" -m autograder grade source/hw4 --only part2 --device cuda --quiet | tail -n 3
echo "== Diffusion benchmarks on CUDA"
timeout 60 "$PY" -m autograder bench-diffusion --device cuda --quick
