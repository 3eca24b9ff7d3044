#!/usr/bin/env bash
# Runs the whole suite once per Keras backend (the backend is fixed per process).
# Extra arguments go to pytest, e.g. `bash tests/run.sh -k macenko`.
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export SM_FRAMEWORK="${SM_FRAMEWORK:-tf.keras}"
status=0
for backend in jax tensorflow; do
  echo "=== KERAS_BACKEND=${backend} ==="
  KERAS_BACKEND="${backend}" python -m pytest "$@" || status=$?
done
exit "${status}"
