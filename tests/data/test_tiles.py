"""Tile cutting: bounds, centring, grids, the small-image error, the model's input scaling."""

from __future__ import annotations

import numpy as np
import pytest

from lggseg.data.tiles import grid_origins, grid_tiles, random_tile, tile_origin, to_model_input


def _pair(h: int, w: int):
    # Pixel values encode their position, so a crop tells where it was cut from.
    rows, cols = np.mgrid[0:h, 0:w]
    image = np.stack([rows % 256, cols % 256, (rows // 256) * 16 + cols // 256], axis=-1).astype(np.uint8)
    mask = ((rows + cols) % 4).astype(np.uint8)
    return image, mask


def test_random_tiles_stay_inside_and_match_their_mask():
    image, mask = _pair(70, 90)
    rng = np.random.default_rng(0)
    corners = set()
    for _ in range(200):
        tile, tile_mask = random_tile(image, mask, size=32, rng=rng)
        assert tile.shape == (32, 32, 3) and tile_mask.shape == (32, 32)
        top, left = int(tile[0, 0, 0]), int(tile[0, 0, 1])
        assert 0 <= top <= 70 - 32 and 0 <= left <= 90 - 32
        np.testing.assert_array_equal(tile_mask, mask[top : top + 32, left : left + 32])
        corners.add((top, left))
    # The corner is drawn over the whole valid range, not a fixed few places.
    tops = {t for t, _ in corners}
    lefts = {c for _, c in corners}
    assert min(tops) <= 2 and max(tops) >= 36 and min(lefts) <= 3 and max(lefts) >= 55


@pytest.mark.parametrize(
    "center, expected",
    [((35, 45), (19, 29)), ((0, 0), (0, 0)), ((69, 89), (38, 58)), ((5, 80), (0, 58))],
)
def test_centred_tile_is_clamped_and_holds_its_centre(center, expected):
    image, mask = _pair(70, 90)
    top, left = tile_origin(image.shape, size=32, center=center)
    assert (top, left) == expected
    tile, tile_mask = random_tile(image, mask, size=32, rng=np.random.default_rng(0), center=center)
    # The centre pixel is always inside the tile, at its position relative to the corner.
    r, c = center[0] - top, center[1] - left
    assert 0 <= r < 32 and 0 <= c < 32
    assert tile_mask[r, c] == mask[center]
    assert (int(tile[r, c, 0]), int(tile[r, c, 1])) == center


def test_tile_as_large_as_the_image_is_the_image():
    image, mask = _pair(48, 48)
    tile, tile_mask = random_tile(image, mask, size=48, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(tile, image)
    np.testing.assert_array_equal(tile_mask, mask)


def test_small_image_error_names_the_sample_and_what_to_do():
    image, mask = _pair(40, 100)
    with pytest.raises(ValueError, match=r"slide_7.*40x100.*64x64.*at most 40.*pad"):
        random_tile(image, mask, size=64, rng=np.random.default_rng(0), name="slide_7")
    with pytest.raises(ValueError, match="outside"):
        tile_origin(image.shape, size=16, center=(40, 0))


def test_grid_covers_every_pixel_without_leaving_the_image():
    image, mask = _pair(70, 90)
    origins = grid_origins(image.shape, size=32)
    assert origins[0] == (0, 0) and origins[-1] == (38, 58)
    covered = np.zeros((70, 90), dtype=int)
    for r, c in origins:
        covered[r : r + 32, c : c + 32] += 1
    assert covered.min() >= 1
    tiles, masks, where = grid_tiles(image, mask, size=32, stride=16)
    assert tiles.shape[1:] == (32, 32, 3) and masks.shape[1:] == (32, 32) and where.shape == (len(tiles), 2)
    for tile, tile_mask, (r, c) in zip(tiles, masks, where):
        np.testing.assert_array_equal(tile_mask, mask[r : r + 32, c : c + 32])
        assert (int(tile[0, 0, 0]), int(tile[0, 0, 1])) == (r, c)
    with pytest.raises(ValueError, match="stride"):
        grid_origins(image.shape, size=32, stride=40)


def test_model_input_is_float32_over_255():
    images = np.array([[[[0, 128, 255]]]], dtype=np.uint8)
    x = to_model_input(images)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, [[[[0.0, 128 / 255, 1.0]]]])
    with pytest.raises(ValueError, match="uint8"):
        to_model_input(images.astype(np.float32))
