"""Tiny Keras segmentation models for the evaluation tests."""

import numpy as np
import pytest


def build_fc_model(*, num_classes: int = 4, size: int | None = None, seed: int = 0):
    """Two 3x3 convolutions ending in a softmax: receptive field 5x5, any input size."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu")(inputs)
    outputs = keras.layers.Conv2D(num_classes, 3, padding="same", activation="softmax")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture
def fc_model():
    return build_fc_model


@pytest.fixture
def random_image():
    def make(height: int, width: int, seed: int = 0) -> np.ndarray:
        return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)

    return make
