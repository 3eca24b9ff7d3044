"""Thread limits for training processes that share the machine's cores.

Jobs side by side (``lggseg benchmark --jobs N``) each get ``cores // N`` threads: the small
networks of the CPU suites cannot keep many threads busy, and N processes with the default
thread pools would oversubscribe the cores (``benchmarks/parallel_jobs.py`` measured 1.28x
the training throughput for two one-thread processes against one process on both cores of
a 2-core machine).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["shared_cores_env", "thread_env"]

_XLA_THREAD_FLAGS = ("--xla_cpu_multi_thread_eigen", "intra_op_parallelism_threads")


def thread_env(threads: int, *, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment variables that limit a fresh Keras process (either backend) to ``threads`` threads.

    Both backends size their thread pools from the core count as they start, so the limit must be
    in the child's environment: TensorFlow reads its two pools' variables, oneDNN and OpenBLAS
    ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS``, XLA on CPU (JAX) its ``XLA_FLAGS``.

    Args:
      threads: threads for the process's compute pools (at least 1).
      base: the environment whose other ``XLA_FLAGS`` are kept (default this process's).
    """
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    base = os.environ if base is None else base
    xla = " ".join(flag for flag in base.get("XLA_FLAGS", "").split() if not flag.startswith(_XLA_THREAD_FLAGS))
    multi = "true" if threads > 1 else "false"
    xla = f"{xla} --xla_cpu_multi_thread_eigen={multi} intra_op_parallelism_threads={threads}".strip()
    count = str(threads)
    return {
        "TF_NUM_INTRAOP_THREADS": count,
        "TF_NUM_INTEROP_THREADS": count,
        "OMP_NUM_THREADS": count,
        "OPENBLAS_NUM_THREADS": count,
        "XLA_FLAGS": xla,
    }


def shared_cores_env(jobs: int, *, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with each of ``jobs`` side-by-side processes limited to its share of the cores.

    Limits the user already set (any variable of :func:`thread_env`, an XLA thread flag) are kept.
    """
    env = dict(base)
    limits = thread_env(max(1, (os.cpu_count() or 1) // jobs), base=base)
    for name, value in limits.items():
        if name == "XLA_FLAGS":
            if not any(flag.startswith(_XLA_THREAD_FLAGS) for flag in base.get(name, "").split()):
                env[name] = value
        else:
            env.setdefault(name, value)
    return env
