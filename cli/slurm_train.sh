#!/usr/bin/env bash
# Multi-node data-parallel training of lggseg on a SLURM cluster (JAX backend).
#
#   sbatch cli/slurm_train.sh gin/le_focus.gin            # 2 nodes x 4 GPUs (edit below)
#   sbatch --nodes=4 cli/slurm_train.sh gin/le_focus.gin --gin-param 'train.batch_size = 8'
#
# One task per node; each task is one JAX process that drives all GPUs of its node.
# Process 0's node is the coordinator; every process finds it through the
# KERAS_DISTRIBUTION_* variables set below, which keras.distribution.initialize()
# reads (lggseg.training.distribution.data_parallel(multi_host=True)).
# Data parallelism is switched on by one gin binding, train.distribution = @data_parallel;
# data_parallel.multi_host = True makes the processes find each other.
#
# Batches: with several processes each process feeds its own share of every global
# batch (Keras cannot shard a PyDataset itself), so train.batch_size is per process and
# the global batch is batch_size x number of nodes; the trainer seeds each process's
# tiles differently (seed + process index).
#
#SBATCH --job-name=lggseg-train
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=16
#SBATCH --time=24:00:00
#SBATCH --output=%x-%j.out

set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: sbatch cli/slurm_train.sh GIN_FILE [more lggseg train options]" >&2
  exit 2
fi
GIN_FILE="$1"
shift

# The run directory is shared by all processes (on a shared file system); process 0
# writes it. Rerunning with the same RUN_DIR resumes.
RUN_DIR="${RUN_DIR:-runs/$(basename "${GIN_FILE}" .gin)-slurm-${SLURM_JOB_ID}}"
COORDINATOR_PORT="${COORDINATOR_PORT:-12345}"
COORDINATOR_HOST="$(scontrol show hostnames "${SLURM_JOB_NODELIST}" | head -n 1)"

export KERAS_BACKEND=jax
export KERAS_DISTRIBUTION_JOB_ADDRESSES="${COORDINATOR_HOST}:${COORDINATOR_PORT}"
export KERAS_DISTRIBUTION_NUM_PROCESSES="${SLURM_NNODES}"
# Activate the environment here if the job does not inherit it, e.g.:
# source "${HOME}/venvs/lggseg/bin/activate"

echo "lggseg: ${SLURM_NNODES} node(s), coordinator ${KERAS_DISTRIBUTION_JOB_ADDRESSES}, run dir ${RUN_DIR}"

# KERAS_DISTRIBUTION_PROCESS_ID must differ per task, so it is set inside srun from
# SLURM_PROCID (single quotes: expanded by each task, not here).
srun --kill-on-bad-exit=1 bash -c '
  export KERAS_DISTRIBUTION_PROCESS_ID="${SLURM_PROCID}"
  exec lggseg --backend jax train \
    --gin "$0" \
    --gin-param "train.distribution = @data_parallel" \
    --gin-param "data_parallel.multi_host = True" \
    --run-dir "$1" \
    "${@:2}"
' "${GIN_FILE}" "${RUN_DIR}" "$@"
