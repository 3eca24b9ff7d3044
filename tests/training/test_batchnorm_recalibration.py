"""BatchNorm statistics re-estimated with the final weights: exact averages, frozen layers kept."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lggseg.training.batchnorm import recalibrate_batchnorm


def _model(*, frozen: bool = False) -> keras.Model:
    inputs = keras.Input((4, 4, 2))
    x = keras.layers.Conv2D(3, 1, kernel_initializer="ones", use_bias=False, name="conv")(inputs)
    norm = keras.layers.BatchNormalization(name="bn")
    norm.trainable = not frozen
    x = norm(x)
    x = keras.layers.Dropout(0.5, name="drop")(x)
    outputs = keras.layers.BatchNormalization(name="bn2")(x)
    return keras.Model(inputs, outputs)


def _batches():
    rng = np.random.default_rng(0)
    return [rng.normal(loc, scale, size=(2, 4, 4, 2)).astype("float32") for loc, scale in ((5.0, 2.0), (1.0, 0.5))]


def test_moving_statistics_become_the_average_of_the_batch_statistics():
    model = _model()
    batches = _batches()
    assert recalibrate_batchnorm(model, batches) == 2
    # conv = sum of the 2 input channels (all-ones kernel), the same in each of its 3 channels.
    conv = [b.sum(axis=-1) for b in batches]
    expected_mean = np.mean([c.mean() for c in conv])
    expected_var = np.mean([c.var() for c in conv])
    bn = model.get_layer("bn")
    assert np.allclose(keras.ops.convert_to_numpy(bn.moving_mean), expected_mean, rtol=1e-5)
    assert np.allclose(keras.ops.convert_to_numpy(bn.moving_variance), expected_var, rtol=1e-4)
    # The layers' own settings are back: momentum, and the dropout measured without.
    assert bn.momentum == pytest.approx(0.99) and model.get_layer("drop").rate == 0.5


def test_with_one_batch_inference_equals_the_training_forward_pass():
    model = _model()
    batch = _batches()[:1]
    recalibrate_batchnorm(model, batch)
    model.get_layer("drop").rate = 0.0  # compare the normalisation alone
    trained = keras.ops.convert_to_numpy(model(batch[0], training=True))
    inferred = keras.ops.convert_to_numpy(model(batch[0], training=False))
    # Keras uses the biased batch variance in both; epsilon alike.
    assert np.allclose(trained, inferred, atol=1e-4)


def test_frozen_batchnorm_keeps_its_statistics():
    model = _model(frozen=True)
    before = keras.ops.convert_to_numpy(model.get_layer("bn").moving_mean).copy()
    assert recalibrate_batchnorm(model, _batches()) == 1  # only bn2 trains
    assert np.array_equal(keras.ops.convert_to_numpy(model.get_layer("bn").moving_mean), before)


def test_a_model_without_trainable_batchnorm_is_left_alone():
    inputs = keras.Input((4, 4, 2))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1)(inputs))
    assert recalibrate_batchnorm(model, iter(())) == 0
