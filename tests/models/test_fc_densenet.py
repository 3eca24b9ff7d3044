"""FC-DenseNet: GBM_WSSM's exact size, any input size, output layouts, argument checks."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lggseg.models import fc_densenet, scratch_fc_densenet


def test_default_is_gbm_wssm_size():
    # Build only: inside a stateless scope Keras creates the variables without
    # initialising them (on JAX initialising compiles one kernel per weight shape).
    with keras.StatelessScope(initialize_variables=False):
        model = fc_densenet()
        params = model.count_params()
        features = model.get_layer("features").output.shape
        weighted = [layer for layer in model.layers if layer.weights]
    keras.backend.clear_session()  # forget the uninitialised variables
    assert params == 9_424_392
    assert features[-1] == 256
    # 91 dense layers and 5 transitions down (BN + conv each), first conv, 5 transitions up, classifier.
    assert len(weighted) == 2 * 91 + 2 * 5 + 1 + 5 + 1


def test_any_input_size_keeps_its_size(tiny_config):
    model = fc_densenet(num_classes=4, **tiny_config)
    for height, width in [(45, 70)]:
        x = np.random.default_rng(0).random((2, height, width, 3), dtype=np.float32)
        y = model.predict(x, verbose=0)
        assert y.shape == (2, height, width, 4)
        np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-5)


def test_padding_does_not_change_aligned_inputs(tiny_config):
    # With sides that are multiples of 4 (two down blocks) the pad/crop layers are no-ops:
    # the same weights give the same output as the input cropped out of a larger one.
    model = fc_densenet(num_classes=3, pad_mode="constant", **tiny_config)
    x = np.random.default_rng(1).random((1, 12, 20, 3), dtype=np.float32)
    assert model.get_layer("pad")(x).shape == (1, 12, 20, 3)
    padded = model.get_layer("pad")(x[:, :11, :19])
    assert tuple(padded.shape) == (1, 12, 20, 3)
    np.testing.assert_array_equal(np.asarray(padded)[0, 11], 0.0)


def test_flatten_output_is_the_original_layout(tiny_config):
    model = fc_densenet(num_classes=5, flatten_output=True, **tiny_config)
    assert tuple(model.output.shape) == (None, None, 5)
    model = fc_densenet(num_classes=5, flatten_output=True, **{**tiny_config, "input_shape": (10, 14, 3)})
    assert tuple(model.output.shape) == (None, 140, 5)


def test_deprecated_scratch_builder_is_four_classes(tiny_config):
    with pytest.warns(FutureWarning, match="deprecated"):
        model = scratch_fc_densenet(**tiny_config)
    assert model.output.shape[-1] == 4 and model.name == "scratch_fc_densenet"


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(up_blocks=(3,)), "same length"),
        (dict(down_blocks=(2, 0)), "every block needs"),
        (dict(dropout=1.0), "dropout must be"),
        (dict(growth_rate=0), "growth_rate must be"),
        (dict(pad_mode="wrap"), "valid modes: symmetric, reflect, constant"),
    ],
)
def test_bad_arguments_are_named(tiny_config, change, message):
    with pytest.raises(ValueError, match=message):
        fc_densenet(**{**tiny_config, **change})
