"""Sliding-window prediction: tiled equals whole-image prediction, no seams, TTA, padding."""

import numpy as np
import pytest

from lggseg.evaluation import SlidingWindowPredictor


def _whole(model, image):
    return np.asarray(model.predict_on_batch(image[None].astype("float32") / 255.0))[0]


def test_tiled_equals_whole_image_prediction_without_seams(fc_model, random_image):
    model = fc_model()
    image = random_image(80, 72)
    whole = _whole(model, image)
    gaussian = SlidingWindowPredictor(model=model, tile_size=32, overlap=0.5, batch_size=4).predict(image)
    assert gaussian.shape == (80, 72, 4) and gaussian.dtype == np.float32
    np.testing.assert_allclose(gaussian.sum(axis=-1), 1.0, atol=1e-5)
    err = np.abs(gaussian - whole)
    # Away from the border (beyond the 2-pixel receptive radius) and everywhere else too:
    # tile edges, where zero padding corrupts a tile's prediction, get almost no weight.
    assert err[4:-4, 4:-4].max() < 2e-3
    assert err.max() < 2e-3
    # The uniform blend lets those corrupted tile edges through: visible seams.
    mean = SlidingWindowPredictor(model=model, tile_size=32, overlap=0.5, blend="mean").predict(image)
    seam = np.abs(mean - whole)
    assert seam.max() > 20 * err.max()
    seam_cols = np.abs(mean - whole).max(axis=(0, 2))
    assert seam_cols[15:17].max() > 20 * err.max()  # the edge of the first tile column


def test_tile_origins_cover_the_image_flush_with_the_border(fc_model):
    p = SlidingWindowPredictor(model=fc_model(), tile_size=32, overlap=0.25)
    assert p.stride == 24
    origins = p.tile_origins(80, 32)
    assert [y for y, _ in origins] == [0, 24, 48]
    assert {x for _, x in origins} == {0}
    covered = np.zeros((80, 32), bool)
    for y, x in origins:
        covered[y:y + 32, x:x + 32] = True
    assert covered.all()


def test_images_smaller_than_a_tile_are_padded_and_cropped_back(fc_model, random_image):
    model = fc_model()
    image = random_image(20, 9)
    probs = SlidingWindowPredictor(model=model, tile_size=32).predict(image)
    assert probs.shape == (20, 9, 4)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-5)
    # Inside the image, away from the padded edge, it is the whole-image prediction.
    np.testing.assert_allclose(probs[:16, :5], _whole(model, image)[:16, :5], atol=1e-5)


def test_tta_averages_the_eight_dihedral_transforms(fc_model, random_image):
    model = fc_model()
    image = random_image(32, 32, seed=1)
    tta = SlidingWindowPredictor(model=model, tile_size=32, tta=True).predict(image)
    expected = np.zeros_like(tta)
    for k in range(4):
        for flip in (False, True):
            t = np.rot90(image, k)
            t = t[:, ::-1] if flip else t
            p = _whole(model, np.ascontiguousarray(t))
            p = p[:, ::-1] if flip else p
            expected += np.rot90(p, -k)
    np.testing.assert_allclose(tta, expected / 8, atol=1e-5)
    plain = SlidingWindowPredictor(model=model, tile_size=32).predict(image)
    assert np.abs(tta - plain).max() > 1e-3  # the random model is not rotation invariant
    big = SlidingWindowPredictor(model=model, tile_size=32, tta=True, batch_size=3).predict(random_image(50, 41))
    assert big.shape == (50, 41, 4)
    np.testing.assert_allclose(big.sum(axis=-1), 1.0, atol=1e-5)


def test_fixed_input_models_get_their_tile_size(fc_model, random_image):
    model = fc_model(size=32, num_classes=3)
    p = SlidingWindowPredictor(model=model, tile_size=None, overlap=0.25)
    assert p.tile_size == 32 and p.num_classes == 3
    calls = []
    probs = p.predict(random_image(70, 45), progress=lambda done, total: calls.append((done, total)))
    assert probs.shape == (70, 45, 3)
    assert calls[-1][0] == calls[-1][1] == len(p.tile_origins(70, 45))
    with pytest.raises(ValueError, match="fixed 32x32 inputs"):
        SlidingWindowPredictor(model=model, tile_size=64)


def test_bad_arguments_are_rejected(fc_model):
    model = fc_model()
    with pytest.raises(ValueError, match="overlap"):
        SlidingWindowPredictor(model=model, overlap=1.0)
    with pytest.raises(ValueError, match="blend"):
        SlidingWindowPredictor(model=model, blend="cosine")
    with pytest.raises(ValueError, match="uint8"):
        SlidingWindowPredictor(model=model, tile_size=16).predict(np.zeros((8, 8, 3), np.float32))


def test_flattened_outputs_like_the_original_gbm_wssm_are_reshaped(fc_model, random_image):
    import keras

    base = fc_model(size=16)
    flat = keras.Model(base.input, keras.layers.Reshape((16 * 16, 4))(base.output))
    image = random_image(16, 16)
    np.testing.assert_allclose(
        SlidingWindowPredictor(model=flat).predict(image), SlidingWindowPredictor(model=base).predict(image), atol=1e-6
    )


def test_pad_to_size_reflects_at_the_bottom_and_right_only():
    from lggseg.evaluation.sliding_window import pad_to_size

    image = np.arange(3 * 4 * 1, dtype=np.uint8).reshape(3, 4, 1)
    assert pad_to_size(image, height=3, width=2) is image
    padded = pad_to_size(image, height=5, width=6)
    assert padded.shape == (5, 6, 1)
    np.testing.assert_array_equal(padded[:3, :4], image)
    np.testing.assert_array_equal(padded[3, :4, 0], image[1, :, 0])  # reflection, edge row not repeated
    np.testing.assert_array_equal(padded[:3, 4, 0], image[:, 2, 0])
    # A one-pixel dimension cannot reflect: it repeats its edge instead.
    line = np.arange(4, dtype=np.uint8).reshape(1, 4, 1)
    np.testing.assert_array_equal(pad_to_size(line, height=3, width=4)[:, :, 0], np.tile(line[:, :, 0], (3, 1)))
