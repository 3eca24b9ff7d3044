"""What the loss tests share: the gradient of a loss with respect to the predictions."""

import keras
import numpy as np
import pytest


def _gradient(loss, labels, probs) -> np.ndarray:
    """d loss(labels, probs) / d probs on the current backend."""
    if keras.backend.backend() == "jax":
        import jax

        return np.asarray(jax.grad(lambda p: loss(labels, p))(probs))
    import tensorflow as tf

    p = tf.Variable(probs)
    with tf.GradientTape() as tape:
        value = loss(labels, p)
    return tape.gradient(value, p).numpy()


@pytest.fixture
def gradient():
    """``gradient(loss, labels, probs)`` -> the loss's gradient with respect to ``probs``."""
    return _gradient
