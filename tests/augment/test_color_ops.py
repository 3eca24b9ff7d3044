"""Colour and stain ops change the image only: the mask comes back bit-identical."""

from __future__ import annotations

import numpy as np
import pytest

from lggseg.augment import RandomBrightness, RandomContrast, RandomHue, RandomSaturation, StainJitter
from lggseg.data.synthetic import SyntheticSource

COLOUR = {
    "brightness": RandomBrightness(factor=0.2),
    "contrast": RandomContrast(factor=0.2),
    "saturation": RandomSaturation(factor=0.2),
    "hue": RandomHue(factor=0.2),
    "stain": StainJitter(sigma=0.1),
}


@pytest.fixture(scope="module")
def sample():
    s = SyntheticSource(count=1, size=64, num_classes=4, seed=7, stain="lgg")[0]
    return s.image, s.mask


@pytest.mark.parametrize("name", sorted(COLOUR))
def test_mask_untouched_image_changed(name, sample):
    image, mask = sample
    before_image, before_mask = image.copy(), mask.copy()
    rng = np.random.default_rng(3)
    changed = 0
    for _ in range(5):
        out_image, out_mask = COLOUR[name](image, mask, rng=rng)
        assert out_mask.dtype == mask.dtype and np.array_equal(out_mask, before_mask)
        assert out_image.dtype == np.uint8 and out_image.shape == image.shape
        changed += not np.array_equal(out_image, image)
    assert changed >= 4
    assert np.array_equal(image, before_image) and np.array_equal(mask, before_mask), "inputs are never modified"


@pytest.mark.parametrize("name", sorted(COLOUR))
def test_same_seed_same_output(name, sample):
    image, mask = sample
    a = COLOUR[name](image, mask, rng=np.random.default_rng(9))[0]
    b = COLOUR[name](image, mask, rng=np.random.default_rng(9))[0]
    assert np.array_equal(a, b)


def test_brightness_stays_in_range_and_saturates():
    grey = np.full((8, 8, 3), 100, np.uint8)
    rng = np.random.default_rng(0)
    values = [RandomBrightness(factor=0.2)(grey, grey[..., 0], rng=rng)[0][0, 0, 0] for _ in range(200)]
    assert 80 <= min(values) < 85 and 115 < max(values) <= 120
    white = np.full((8, 8, 3), 250, np.uint8)
    brighter = [RandomBrightness(factor=0.5)(white, white[..., 0], rng=rng)[0].min() for _ in range(50)]
    assert min(brighter) >= 125 and max(brighter) == 255, "saturates at 255, never wraps"


def test_zero_factors_are_identities(sample):
    image, mask = sample
    rng = np.random.default_rng(0)
    for op in (RandomBrightness(factor=0.0), RandomContrast(factor=0.0), RandomSaturation(factor=0.0), RandomHue(factor=0.0)):
        assert np.array_equal(op(image, mask, rng=rng)[0], image), op
    # Stain jitter round-trips through OD space: within one level of rounding.
    out = StainJitter(sigma=0.0)(image, mask, rng=rng)[0]
    assert np.abs(out.astype(int) - image).max() <= 1


def test_hue_leaves_grey_alone():
    grey = np.full((4, 4, 3), 90, np.uint8)
    assert np.array_equal(RandomHue(factor=0.5)(grey, grey[..., 0], rng=np.random.default_rng(1))[0], grey)


def test_stain_jitter_shifts_haematoxylin_and_eosin(sample):
    image, mask = sample
    rng = np.random.default_rng(5)
    outs = np.stack([StainJitter(sigma=0.1)(image, mask, rng=rng)[0] for _ in range(8)]).astype(float)
    # Different draws give different colours, but the structure (pixel ordering) remains.
    assert outs.reshape(8, -1, 3).mean(axis=1).std(axis=0).min() > 0.5
    corr = np.corrcoef(outs[0, ..., 1].ravel(), image[..., 1].ravel())[0, 1]
    assert corr > 0.95


def test_invalid_factors_are_named():
    with pytest.raises(ValueError, match="RandomBrightness: factor=1.2"):
        RandomBrightness(factor=1.2)
    with pytest.raises(ValueError, match="RandomHue: factor=0.7"):
        RandomHue(factor=0.7)
    with pytest.raises(ValueError, match="StainJitter: sigma=-0.1"):
        StainJitter(sigma=-0.1)
