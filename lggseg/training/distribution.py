"""Multi-device and multi-host training: Keras 3's distribution API, one gin binding.

``configure_distribution(strategy='data_parallel')`` replicates the model on every
device and splits each global batch between them; gradients are averaged, so training
computes the same losses as on one device with the same global batch.

* **JAX**: ``keras.distribution.DataParallel`` over ``keras.distribution.list_devices()``
  (GPUs/TPUs, else CPU devices). Keras then places variables and shards batches itself
  (SPMD through ``jax.jit``): nothing else changes, and BatchNormalization statistics are
  computed over the global batch. With ``multi_host=True``, ``keras.distribution.initialize``
  first connects the processes of a cluster job (coordinator from
  ``KERAS_DISTRIBUTION_JOB_ADDRESSES`` / ``_NUM_PROCESSES`` / ``_PROCESS_ID``, which
  ``cli/slurm_train.sh`` sets from SLURM's variables); each process then feeds its own
  share of the global batch.
* **TensorFlow**: Keras 3.15's distribution API is not implemented for this backend (its
  TensorFlow ``distribution_lib`` is a prototype marked "DO NOT USE"), so lggseg uses
  ``tf.distribute.MirroredStrategy`` on the local devices, which Keras 3's TensorFlow
  trainer supports. The model must be built (or loaded) and compiled inside
  :func:`distribution_scope`. BatchNormalization then uses per-replica statistics (as
  Keras' own TensorFlow path does). Multi-host TensorFlow (MultiWorkerMirroredStrategy
  with ``TF_CONFIG``) is not supported: use JAX for cluster jobs.

Reference: Keras guide "Distributed training with Keras 3" (Qianli Zhu, 2023).
"""

from __future__ import annotations

import contextlib
import os

__all__ = [
    "STRATEGIES",
    "configure_distribution",
    "data_parallel",
    "distribution_scope",
    "describe_distribution",
    "process_index",
    "process_count",
]

STRATEGIES = ("none", "data_parallel")

# The TensorFlow strategy chosen by configure_distribution, read by distribution_scope.
# Keras keeps its own (JAX) distribution in global state the same way.
_tf_strategy = None


def configure_distribution(
    *,
    strategy: str = "none",
    devices: int | None = None,
    multi_host: bool = False,
) -> None:
    """Choose how training uses the available devices; call before building the model.

    Args:
      strategy: ``'none'`` (one device, Keras' default placement) or ``'data_parallel'``
        (replicate the model, split each batch across devices).
      devices: use the first N devices ``keras.distribution.list_devices()`` reports
        (global ones in a multi-host job; ``None``: all). The global batch must be
        divisible by the number of devices.
      multi_host: connect the processes of a cluster job first (JAX only), from the
        ``KERAS_DISTRIBUTION_*`` environment variables (see ``cli/slurm_train.sh``).

    Raises:
      ValueError: for an unknown strategy (the valid ones are listed), more devices than
        exist, ``multi_host`` without ``data_parallel``, or a combination the backend
        does not support (multi-host on TensorFlow).
    """
    global _tf_strategy
    import keras

    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown distribution strategy {strategy!r}; valid: {', '.join(STRATEGIES)}.")
    if devices is not None and devices < 1:
        raise ValueError(f"devices must be a positive number or None (all), got {devices}.")
    backend = keras.backend.backend()
    if strategy == "none":
        if multi_host:
            raise ValueError("multi_host=True needs strategy='data_parallel'.")
        if backend == "jax":
            keras.distribution.set_distribution(None)
        _tf_strategy = None
        return
    if backend == "jax":
        if multi_host:
            keras.distribution.initialize()
        available = keras.distribution.list_devices()
        chosen = _first(available, devices)
        # PyDataset inputs cannot be auto-sharded by Keras: in a multi-process job every
        # process feeds its own local share of the global batch (see process_index).
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(devices=chosen, auto_shard_dataset=False)
        )
        return
    if backend == "tensorflow":
        if multi_host:
            raise ValueError(
                "Multi-host training is supported on the JAX backend only (Keras 3's distribution API); "
                "run the cluster job with KERAS_BACKEND=jax."
            )
        import tensorflow as tf

        local = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        chosen = _first([d.name for d in local], devices)
        _tf_strategy = tf.distribute.MirroredStrategy(devices=chosen)
        return
    raise ValueError(f"Distributed training supports the jax and tensorflow backends, not {backend!r}.")


def data_parallel(*, devices: int | None = None, multi_host: bool = False) -> None:
    """``configure_distribution(strategy='data_parallel', ...)``: the one-binding switch.

    The trainer calls its ``distribution`` argument before building the model, so in gin
    ``train.distribution = @data_parallel`` turns data parallelism on, and
    ``data_parallel.multi_host = True`` makes it a cluster job.
    """
    configure_distribution(strategy="data_parallel", devices=devices, multi_host=multi_host)


def distribution_scope():
    """The context in which to build (or load) and compile the model.

    ``MirroredStrategy.scope()`` on TensorFlow after ``data_parallel`` was configured; a
    no-op context otherwise (on JAX the distribution is global once set).
    """
    if _tf_strategy is not None:
        return _tf_strategy.scope()
    return contextlib.nullcontext()


def describe_distribution() -> str:
    """One line for logs: the strategy and its devices."""
    import keras

    if _tf_strategy is not None:
        return f"tf.distribute.MirroredStrategy over {_tf_strategy.num_replicas_in_sync} devices"
    if keras.backend.backend() == "jax":
        dist = keras.distribution.distribution()
        if dist is not None:
            mesh = dist.device_mesh
            return (
                f"keras.distribution.{type(dist).__name__} over {mesh.devices.size} devices "
                f"({process_count()} process(es))"
            )
    return "one device (no distribution)"


def process_index() -> int:
    """This process's index in a multi-host job (0 when single-process)."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return int(jax.process_index())
    return int(os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID", 0))


def process_count() -> int:
    """Number of processes in the job (1 when single-process)."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return int(jax.process_count())
    return 1


def _first(available: list[str], devices: int | None) -> list[str]:
    if not available:
        raise ValueError("No devices found to distribute over.")
    if devices is None:
        return list(available)
    if devices > len(available):
        raise ValueError(
            f"devices={devices} but only {len(available)} are available ({', '.join(available)}); "
            f"on a CPU machine, XLA_FLAGS=--xla_force_host_platform_device_count=N simulates N devices (JAX)."
        )
    return list(available[:devices])
