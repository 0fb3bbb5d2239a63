#!/usr/bin/env bash
# Runs the repository's test suite; used by `make test` and so by CI.
set -euo pipefail
PY=${1:-.venv/bin/python}
WORKERS=${2:-2}
export PYTHONHASHSEED=0 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 MPLBACKEND=Agg
exec "$PY" -m pytest -n "$WORKERS" --dist loadgroup --durations=15 "${@:3}"
