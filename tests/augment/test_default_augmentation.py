"""default_augmentation: composition, determinism, gin."""

from __future__ import annotations

import gin
import numpy as np
import pytest

import lggseg.augment  # noqa: F401  (registers the gin names)
from lggseg.augment import (
    Compose,
    RandomBrightness,
    RandomContrast,
    RandomFlip,
    RandomHue,
    RandomRot90,
    RandomSaturation,
    StainJitter,
    default_augmentation,
)
from lggseg.data.synthetic import SyntheticSource


@pytest.fixture(scope="module")
def sample():
    s = SyntheticSource(count=1, size=64, num_classes=4, seed=8, stain="lgg")[0]
    return s.image, s.mask


def test_defaults_are_the_methods():
    aug = default_augmentation()
    assert isinstance(aug, Compose)
    assert [type(op) for op in aug.ops] == [RandomFlip, RandomRot90, RandomBrightness, RandomContrast, RandomSaturation, RandomHue]
    assert all(op.factor == 0.2 for op in aug.ops[2:])
    with_stain = default_augmentation(stain_jitter=0.05, flips=False, rot90=False, hue=0.0)
    assert [type(op) for op in with_stain.ops] == [StainJitter, RandomBrightness, RandomContrast, RandomSaturation]


def test_seeded_runs_repeat_and_seeds_differ(sample):
    image, mask = sample
    aug = default_augmentation(stain_jitter=0.05)

    def run(seed):
        rng = np.random.default_rng(seed)
        return [aug(image, mask, rng=rng) for _ in range(4)]

    first, again, other = run(1), run(1), run(2)
    for (a_img, a_mask), (b_img, b_mask) in zip(first, again):
        assert np.array_equal(a_img, b_img) and np.array_equal(a_mask, b_mask)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, other))


def test_bad_samples_are_refused(sample):
    image, mask = sample
    with pytest.raises(ValueError, match="mask must be"):
        default_augmentation()(image, mask[:10], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"augmentation: image: expected uint8 RGB \(H, W, 3\)"):
        default_augmentation()(image.astype(np.float32), mask, rng=np.random.default_rng(0))


def test_gin_names():
    try:
        gin.parse_config(
            [
                "lggseg.augment.augmentation.hue = 0.05",
                "lggseg.augment.augmentation.stain_jitter = 0.1",
            ]
        )
        aug = gin.get_configurable("lggseg.augment.augmentation")()
        hue = [op for op in aug.ops if isinstance(op, RandomHue)][0]
        stain = [op for op in aug.ops if isinstance(op, StainJitter)][0]
        assert hue.factor == 0.05 and stain.sigma == 0.1
        assert gin.get_configurable("lggseg.augment.RandomFlip")(probability=1.0).probability == 1.0
    finally:
        gin.clear_config()
