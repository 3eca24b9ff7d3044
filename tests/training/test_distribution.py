"""Data-parallel training on two simulated devices gives the losses of one device.

Each check runs in a subprocess, because the number of devices is fixed when the backend
starts: ``XLA_FLAGS=--xla_force_host_platform_device_count=2`` for JAX, two logical CPU
devices for TensorFlow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

_WORKER = textwrap.dedent(
    """
    import json, os, sys
    backend = os.environ["KERAS_BACKEND"]
    if backend == "tensorflow":
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
        )
    import numpy as np
    import keras
    from lggseg.training.distribution import configure_distribution, describe_distribution, distribution_scope

    rng = np.random.default_rng(0)
    x = rng.random((32, 16, 16, 3), dtype=np.float32)
    y = rng.integers(0, 4, size=(32, 16, 16)).astype(np.int32)

    def build():
        inp = keras.Input((16, 16, 3))
        h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
        if backend == "jax":
            # SPMD computes batch statistics over the global batch, so BN matches too.
            h = keras.layers.BatchNormalization()(h)
        h = keras.layers.Conv2D(4, 1)(h)
        return keras.Model(inp, keras.layers.Softmax()(h))

    keras.utils.set_random_seed(1)
    initial = build().get_weights()

    class Losses(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.values = []

        def on_train_batch_end(self, batch, logs=None):
            self.values.append(float(logs["loss"]))

    def run(strategy, devices):
        configure_distribution(strategy=strategy, devices=devices)
        with distribution_scope():
            model = build()
            model.set_weights(initial)
            model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5),
                          loss=keras.losses.SparseCategoricalCrossentropy())
        cb = Losses()
        # Global batch 8: 4 per device when distributed; fixed order.
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
        final = [np.asarray(w) for w in model.get_weights()]
        return cb.values, final, describe_distribution()

    one_losses, one_weights, one_desc = run("none", None)
    two_losses, two_weights, two_desc = run("data_parallel", 2)
    print(json.dumps({
        "one": one_losses, "two": two_losses, "one_desc": one_desc, "two_desc": two_desc,
        "weight_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(one_weights, two_weights)),
    }))
    """
)


def _run_worker(backend: str) -> dict:
    env = dict(os.environ)
    env["KERAS_BACKEND"] = backend
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # jax would otherwise see the two simulated devices as one GPU-less platform choice;
    # pin it to CPU so the simulated devices are the ones used.
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run([sys.executable, "-c", _WORKER], capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_two_devices_give_the_losses_of_one(keras_backend):
    result = _run_worker(keras_backend)
    assert "2 devices" in result["two_desc"], result["two_desc"]
    assert "no distribution" in result["one_desc"]
    assert len(result["one"]) == len(result["two"]) == 8
    # The losses change from step to step (training happens) ...
    assert max(result["one"]) - min(result["one"]) > 1e-3
    # ... and the distributed run reproduces them.
    for a, b in zip(result["one"], result["two"]):
        assert a == pytest.approx(b, abs=1e-5)
    assert result["weight_diff"] < 1e-4


def test_configure_distribution_rejects_bad_values():
    from lggseg.training.distribution import configure_distribution

    with pytest.raises(ValueError, match="data_parallel"):
        configure_distribution(strategy="model_parallel")
    with pytest.raises(ValueError, match="multi_host"):
        configure_distribution(strategy="none", multi_host=True)
    with pytest.raises(ValueError, match="available"):
        configure_distribution(strategy="data_parallel", devices=10_000)
    configure_distribution(strategy="none")
