"""Models compiled with each loss train a step, save and load; gin builds the losses."""

from __future__ import annotations

import gin
import keras
import numpy as np
import pytest

from lggseg.losses import LOSSES, make_loss

OPTIONS = {
    "focal_loss": {"gamma": 1.5, "alpha": {"LE": 0.75, "IT": 0.9}},
    "cross_entropy": {"class_weights": {"LE": 3.0, "IT": 5.0}},
    "dice_loss": {"smooth": 0.5, "classes": ("LE", "IT")},
    "focal_dice": {
        "focal_weight": 2.0, "dice_weight": 0.5, "alpha": [0.2, 0.2, 0.8, 0.8], "dice_classes": ("CT", "LE")
    },
}


def _model():
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Conv2D(4, 3, padding="same", activation="softmax")(inputs)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_model_compiled_with_the_loss_trains_saves_and_loads(tmp_path, name):
    rng = np.random.default_rng(0)
    x = rng.random((2, 8, 8, 3)).astype(np.float32)
    y = rng.integers(0, 4, (2, 8, 8)).astype(np.int32)
    model = _model()
    loss = make_loss(name, options=OPTIONS[name])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    first = float(model.train_on_batch(x, y))
    assert np.isfinite(first)
    assert all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in model.weights)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.loss) is type(loss)
    assert loaded.loss.get_config() == loss.get_config()
    np.testing.assert_allclose(
        float(loaded.evaluate(x, y, verbose=0)), float(model.evaluate(x, y, verbose=0)), rtol=1e-5
    )


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gin_builds_each_loss_and_it_round_trips(name):
    import lggseg.losses  # noqa: F401  (registers the losses with gin)

    gin.clear_config()
    try:
        gin.parse_config(f"lggseg.losses.{name}.name = 'from_gin'")
        loss = gin.get_configurable(f"lggseg.losses.{name}")()
    finally:
        gin.clear_config()
    assert loss.name == "from_gin"
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, LOSSES[name])
    assert again.get_config() == loss.get_config()
