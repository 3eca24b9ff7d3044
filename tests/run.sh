#!/usr/bin/env bash
# Runs the whole suite once per Keras backend (the backend is fixed per process), the backends
# side by side: most of a test's time is one core tracing and compiling, so two suites on two
# cores finish well before one after the other would. Each output line is prefixed with its
# backend; the exit code is non-zero when either suite failed.
# Extra arguments go to pytest, e.g. `bash tests/run.sh -k macenko`;
# LGGSEG_TEST_BACKENDS chooses the backends, e.g. `LGGSEG_TEST_BACKENDS=jax bash tests/run.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export SM_FRAMEWORK="${SM_FRAMEWORK:-tf.keras}"
pids=()
backends=(${LGGSEG_TEST_BACKENDS:-jax tensorflow})
for backend in "${backends[@]}"; do
  echo "=== KERAS_BACKEND=${backend} ==="
  # pipefail (inherited by the subshell) makes the subshell's status pytest's, not sed's.
  (KERAS_BACKEND="${backend}" python -m pytest "$@" 2>&1 | sed -u "s/^/[${backend}] /") &
  pids+=("$!")
done
status=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then
    echo "=== KERAS_BACKEND=${backends[$i]}: passed ==="
  else
    code=$?
    echo "=== KERAS_BACKEND=${backends[$i]}: FAILED (pytest exit code ${code}) ==="
    status=1
  fi
done
exit "${status}"
