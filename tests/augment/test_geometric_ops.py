"""Geometric ops move the mask exactly as the image (property tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lggseg.augment import Compose, RandomFlip, RandomRot90, default_augmentation

GEOMETRIC = {
    "flip": RandomFlip(),
    "flip-horizontal": RandomFlip(vertical=False, probability=1.0),
    "flip-vertical": RandomFlip(horizontal=False, probability=1.0),
    "rot90": RandomRot90(),
    "flips+rot90": Compose([RandomFlip(), RandomRot90()]),
    "default, colour off": default_augmentation(hue=0, saturation=0, brightness=0, contrast=0),
}


def _position_image(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Channels 0 and 1 hold each pixel's own row and column; channel 2 is random."""
    rows, cols = np.mgrid[:h, :w]
    return np.stack([rows, cols, rng.integers(0, 256, (h, w))], axis=-1).astype(np.uint8)


@settings(max_examples=80, deadline=None)
@given(
    h=st.integers(1, 24),
    w=st.integers(1, 24),
    seed=st.integers(0, 2**32 - 1),
    name=st.sampled_from(sorted(GEOMETRIC)),
)
def test_mask_follows_the_image(h, w, seed, name):
    rng = np.random.default_rng(seed)
    image = _position_image(h, w, rng)
    mask = rng.integers(0, 4, (h, w)).astype(np.uint8)
    out_image, out_mask = GEOMETRIC[name](image, mask, rng=np.random.default_rng(seed))
    assert out_image.dtype == np.uint8 and out_mask.dtype == np.uint8
    assert out_mask.shape == out_image.shape[:2] and sorted(out_mask.shape) == sorted((h, w))
    rows, cols = out_image[..., 0], out_image[..., 1]
    # Every output pixel came from one source pixel, each source pixel is used once ...
    assert np.array_equal(np.sort(rows.astype(int) * w + cols, axis=None), np.arange(h * w))
    # ... its other channel travelled with it, and the mask holds that pixel's class.
    assert np.array_equal(out_image[..., 2], image[rows, cols, 2])
    assert np.array_equal(out_mask, mask[rows, cols])


def test_all_eight_symmetries_occur():
    image = _position_image(3, 3, np.random.default_rng(0))
    mask = np.zeros((3, 3), np.uint8)
    aug = Compose([RandomFlip(), RandomRot90()])
    rng = np.random.default_rng(1)
    seen = {aug(image, mask, rng=rng)[0].tobytes() for _ in range(200)}
    assert len(seen) == 8


@pytest.mark.parametrize("k", [1, 2, 3])
def test_rot90_matches_numpy(k):
    image = _position_image(4, 6, np.random.default_rng(0))
    # A seed whose first draw is k quarter turns; the op must then equal np.rot90.
    seed = next(s for s in range(100) if int(np.random.default_rng(s).integers(4)) == k)
    out, _ = RandomRot90()(image, image[..., 0], rng=np.random.default_rng(seed))
    assert np.array_equal(out, np.rot90(image, k))


def test_invalid_probability_is_named():
    with pytest.raises(ValueError, match="probability=1.5"):
        RandomFlip(probability=1.5)
