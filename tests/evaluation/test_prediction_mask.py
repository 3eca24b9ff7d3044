"""PredictionMask: glass and ink become Background, counted once each, on class maps and probabilities."""

import numpy as np
import pytest

from lggseg.classes import LGG_4, ClassScheme
from lggseg.data.synthetic import generate
from lggseg.evaluation.prediction_mask import PredictionMask

BG = LGG_4.index("BG")
IT = LGG_4.index("IT")


def glass_tissue_ink():
    """Glass on the left, synthetic tissue on the right, a black ink square on the tissue."""
    tissue = generate(size=128, seed=2, index=0).image
    image = np.concatenate([np.full((128, 64, 3), 246, np.uint8), tissue], axis=1)
    image[40:60, 120:140] = (15, 15, 20)
    return image


def test_glass_and_ink_become_background_and_are_counted():
    image = glass_tissue_ink()
    mask = PredictionMask()
    excluded = mask.excluded(image)
    predicted = np.full(image.shape[:2], IT, np.uint8)  # a model calling everything IT
    classes = mask.apply(predicted, excluded, background=mask.background(LGG_4))
    assert np.all(classes[:, :60] == BG)
    assert np.all(classes[40:60, 120:140] == BG)
    assert np.mean(classes[:, 70:] == IT) > 0.9
    counts = excluded.counts()
    assert counts["ink"] >= 400 and counts["non_tissue"] >= 128 * 60
    assert counts["ink"] + counts["non_tissue"] == int((classes == BG).sum())


def test_a_mask_that_is_off_changes_nothing():
    image = glass_tissue_ink()
    mask = PredictionMask(tissue=None, ink=False)
    assert not mask.active
    predicted = np.full(image.shape[:2], IT, np.uint8)
    np.testing.assert_array_equal(mask.apply(predicted, mask.excluded(image), background=BG), predicted)


def test_probabilities_follow_the_class_map():
    image = glass_tissue_ink()
    mask = PredictionMask()
    excluded = mask.excluded(image)
    probs = np.full((*image.shape[:2], 4), 0.25, np.float32)
    out = mask.apply_to_probabilities(probs, excluded, background=BG)
    assert np.all(out[excluded.any][:, BG] == 1) and np.all(out[~excluded.any] == 0.25)
    as_uint8 = mask.apply_to_probabilities(np.full((*image.shape[:2], 4), 60, np.uint8), excluded, background=BG)
    assert np.all(as_uint8[excluded.any][:, BG] == 255) and as_uint8[excluded.any].sum(-1).max() == 255


def test_bad_choices_are_named():
    with pytest.raises(ValueError, match="hsv, otsu or None"):
        PredictionMask(tissue="otsu2")
    no_background = ClassScheme(codes=("CT", "LE"), names=("Cellular tumour", "Leading edge"),
                                colours=((5, 208, 4), (33, 143, 166)))
    with pytest.raises(ValueError, match="--tissue-mask none --no-ink-mask"):
        PredictionMask().background(no_background)
    assert PredictionMask(tissue=None, ink=False).background(no_background) == 0
