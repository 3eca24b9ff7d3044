"""Tiling, padding, cropping and blending move no pixel: a per-pixel model comes back exact.

A dotted grid (period 2) and a line along the top edge in quick-run predictions came from
the network (the uneven overlap of the 3x3 stride-2 Conv2DTranspose, and its first row
receiving one tap); these tests pin down that lggseg's own inference path adds neither,
so a pattern seen there is the model's. A 1x1 model makes the exact expected output
known at every pixel, the border rows included.
"""

import numpy as np
import pytest

from lggseg.evaluation import SlidingWindowPredictor
from lggseg.models.padding import CropToMatch, PadToMultiple


def _pointwise_model(*, multiple: int, mode: str = "symmetric"):
    """Pad -> 1x1 convolution -> crop -> softmax: each output pixel depends on its own input pixel only."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 3))
    x = PadToMultiple(multiple=multiple, mode=mode)(inputs)
    x = keras.layers.Conv2D(4, 1, kernel_initializer=keras.initializers.RandomNormal(stddev=3.0))(x)
    x = CropToMatch(multiple=multiple)([x, inputs])
    return keras.Model(inputs, keras.layers.Activation("softmax")(x))


def _expected(model, image):
    """The model's 1x1 convolution and softmax in numpy, pixel by pixel: no tiling, padding or cropping."""
    conv = next(layer for layer in model.layers if layer.name.startswith("conv2d"))
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in conv.get_weights())
    logits = (image.astype(np.float64) / 255.0) @ kernel[0, 0] + bias
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("overlap", [0.0, 0.25, 0.5])
@pytest.mark.parametrize("blend", ["gaussian", "mean"])
@pytest.mark.parametrize("tta", [False, True])
def test_sliding_window_adds_no_grid_and_no_edge_row(overlap, blend, tta):
    # Odd sides: the last tiles are flush with the border and overlap irregularly, and
    # tile 24 is not a multiple of 16, so the model pads (and must crop) every tile.
    image = np.random.default_rng(3).integers(0, 256, (53, 70, 3), dtype=np.uint8)
    model = _pointwise_model(multiple=16)
    probs = SlidingWindowPredictor(model=model, tile_size=24, overlap=overlap, blend=blend, tta=tta,
                                   batch_size=5).predict(image)
    expected = _expected(model, image)
    assert probs.shape == expected.shape
    err = np.abs(probs - expected).max(axis=-1)
    # Float32 rounding of the blend only; a shifted, flipped or wrongly cropped tile moves
    # other pixels' (random) values here and errs by ~0.5.
    assert err.max() < 1e-5, (np.unravel_index(err.argmax(), err.shape), err.max())
    assert err[0].max() < 1e-5 and err[:, 0].max() < 1e-5


@pytest.mark.parametrize("mode", ["symmetric", "reflect", "constant"])
@pytest.mark.parametrize("size", [(61, 67), (64, 40), (17, 9)])
def test_crop_undoes_the_padding_on_the_same_side(mode, size):
    import keras

    multiple = 16
    image = np.random.default_rng(1).random((2,) + size + (3,)).astype("float32")
    inputs = keras.Input((None, None, 3))
    padded = PadToMultiple(multiple=multiple, mode=mode)(inputs)
    model = keras.Model(inputs, [padded, CropToMatch(multiple=multiple)([padded, inputs])])
    padded_out, cropped = (np.asarray(a) for a in model.predict_on_batch(image))
    h, w = size
    assert padded_out.shape[1] % multiple == 0 and padded_out.shape[2] % multiple == 0
    np.testing.assert_array_equal(cropped, image)
    # The input sits where the crop takes it from: (total // 2) rows above, the rest below.
    top = (padded_out.shape[1] - h) // 2
    left = (padded_out.shape[2] - w) // 2
    np.testing.assert_array_equal(padded_out[:, top:top + h, left:left + w], image)
    if mode == "symmetric" and top:
        # Mirrored including the edge pixel: the row above the image repeats its first row.
        np.testing.assert_array_equal(padded_out[:, top - 1, left:left + w], image[:, 0])
