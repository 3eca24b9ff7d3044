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
# A script's background jobs ignore SIGINT, so Ctrl-C would end this script and leave both
# suites running. With job control each suite is its own process group that keeps SIGINT,
# and the trap passes Ctrl-C (or a TERM) on to both: pytest stops and prints what it ran.
set -m
trap 'for pid in "${pids[@]}"; do kill -INT -- "-${pid}" 2>/dev/null || true; done' INT TERM
for backend in "${backends[@]}"; do
  echo "=== KERAS_BACKEND=${backend} ==="
  # pipefail (inherited by the subshell) makes the subshell's status pytest's, not sed's.
  # sed ignores Ctrl-C, so that what pytest prints as it stops still comes through.
  (KERAS_BACKEND="${backend}" python -m pytest "$@" 2>&1 | (trap '' INT; sed -u "s/^/[${backend}] /")) &
  pids+=("$!")
done
status=0
for i in "${!pids[@]}"; do
  code=0
  wait "${pids[$i]}" || code=$?
  # A trapped Ctrl-C ends the wait, not the suite: wait on for the suite's own exit code.
  while kill -0 "${pids[$i]}" 2>/dev/null; do
    code=0
    wait "${pids[$i]}" || code=$?
  done
  if [ "${code}" -eq 0 ]; then
    echo "=== KERAS_BACKEND=${backends[$i]}: passed ==="
  else
    echo "=== KERAS_BACKEND=${backends[$i]}: FAILED (pytest exit code ${code}) ==="
    status=1
  fi
done
exit "${status}"
