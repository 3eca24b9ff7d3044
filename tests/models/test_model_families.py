"""Every model family: one optimisation step lowers the loss; .keras / .weights.h5 round trips."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lggseg.models import (
    build_model,
    fc_densenet,
    freeze_all_but_last,
    gbm_transfer,
    load_model,
    load_weights,
    sm_pspnet,
)


def _tiny_fc(tiny_config, num_classes):
    # No dropout: the loss before and after the step is measured in training mode.
    return fc_densenet(num_classes=num_classes, **{**tiny_config, "dropout": 0.0})


FAMILIES = {
    "fc_densenet": lambda cfg: _tiny_fc(cfg, 4),
    "gbm_transfer": lambda cfg: gbm_transfer(source=_tiny_fc(cfg, 8), num_classes=4),
    # PSPNet on resnet18 keeps only the encoder's first stages: the smallest sm model.
    "sm_pspnet": lambda cfg: sm_pspnet(backbone="resnet18", num_classes=4, input_shape=(48, 48, 3)),
}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request, tiny_config):
    keras.utils.set_random_seed(0)
    return request.param, FAMILIES[request.param](tiny_config)


def _batch(size=48):
    rng = np.random.default_rng(3)
    x = rng.random((2, size, size, 3), dtype=np.float32)
    # Classes tied to the image, so that there is something to learn.
    y = np.clip((x[..., 0] * 4).astype("int32"), 0, 3)
    return x, y


def test_one_step_lowers_the_loss(family):
    name, model = family
    if name == "gbm_transfer":
        freeze_all_but_last(model, n=4)
    # Plain gradient descent with a small step: the loss on the same batch must go down.
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss=keras.losses.SparseCategoricalCrossentropy())
    x, y = _batch()
    # train_on_batch returns the loss before its update: the second call measures the first step.
    before = float(np.asarray(model.train_on_batch(x, y)))
    after = float(np.asarray(model.train_on_batch(x, y)))
    assert np.isfinite(after) and after < before - 1e-4 * before


def test_keras_round_trip(family, tmp_path):
    name, model = family
    x, _ = _batch()
    expected = np.asarray(model(x, training=False))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = load_model(path)
    assert loaded.name == model.name
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), expected, atol=1e-5)
    if name == "gbm_transfer":
        assert [layer.name for layer in loaded.layers[-3:]] == ["head_conv", "head_classifier", "head_softmax"]


def test_weights_round_trip(tiny_config, tmp_path):
    model = _tiny_fc(tiny_config, 4)
    other = _tiny_fc(tiny_config, 4)
    model.save_weights(tmp_path / "w.weights.h5")
    load_weights(other, tmp_path / "w.weights.h5")
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_file_errors(tmp_path, tiny_config):
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        load_model(tmp_path / "missing.keras")
    (tmp_path / "w.h5").write_bytes(b"")
    with pytest.raises(ValueError, match="not a '.keras' model file"):
        load_model(tmp_path / "w.h5")
    (tmp_path / "w.pt").write_bytes(b"")
    with pytest.raises(ValueError, match="valid suffixes: .keras, .weights.h5, .h5"):
        load_weights(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), tmp_path / "w.pt")


def test_registry_by_name(tiny_config):
    model = build_model("fc_densenet", options={**tiny_config, "num_classes": 4})
    assert model.output.shape[-1] == 4
    with pytest.raises(ValueError, match="valid models: fc_densenet, gbm_transfer, scratch_fc_densenet, sm_fpn"):
        build_model("unet")
    with pytest.raises(ValueError, match="takes no option"):
        build_model("fc_densenet", options={"num_clases": 4})
