"""BandBlender: the same blend as accumulating the whole plane, in a band's memory."""

from __future__ import annotations

import numpy as np
import pytest

from lggseg.slides.band_blender import BandBlender


def _starts(length, tile, stride):
    s = list(range(0, max(length - tile, 0) + 1, stride))
    if s[-1] + tile < length:
        s.append(length - tile)
    return s


@pytest.mark.parametrize("height,width,tile,stride,keep", [
    (200, 310, 64, 48, 1.0),
    (200, 310, 64, 48, 0.6),
    (97, 129, 32, 20, 0.5),
    (64, 64, 64, 48, 1.0),
])
def test_blend_equals_whole_plane(height, width, tile, stride, keep):
    rng = np.random.default_rng(height + width)
    ys, xs = _starts(height, tile, stride), _starts(width, tile, stride)
    window = rng.random((tile, tile), dtype=np.float32) + 0.1
    tiles = [(k, x) for k in range(len(ys)) for x in xs if rng.random() < keep]
    probs = {t: rng.random((tile, tile, 3), dtype=np.float32) for t in tiles}
    acc = np.zeros((height, width, 3), np.float32)
    weight = np.zeros((height, width, 1), np.float32)
    for k, x in tiles:
        acc[ys[k]:ys[k] + tile, x:x + tile] += probs[(k, x)] * window[..., None]
        weight[ys[k]:ys[k] + tile, x:x + tile] += window[..., None]
    expected = np.where(weight[..., 0] > 0, np.argmax(acc / np.maximum(weight, 1e-30), axis=-1), 2)

    blender = BandBlender(height=height, width=width, row_origins=ys, tile_size=tile, stride=stride,
                          window=window, num_classes=3, background=2, chunk_width=50)
    rows = []
    for k, x in blender.order(tiles):
        rows.extend(blender.add(row=k, x=x, probs=probs[(k, x)]))
    rows.extend(blender.finish())
    got = np.concatenate(rows, axis=0)
    assert got.shape == (height, width) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, expected)


def test_memory_is_a_band_not_the_plane():
    height, width, tile, stride = 2000, 1500, 64, 48
    ys, xs = _starts(height, tile, stride), _starts(width, tile, stride)
    blender = BandBlender(height=height, width=width, row_origins=ys, tile_size=tile, stride=stride,
                          window=np.ones((tile, tile), np.float32), num_classes=4, chunk_width=128)
    p = np.full((tile, tile, 4), 0.25, np.float32)
    emitted = 0
    for k, x in blender.order([(k, x) for k in range(len(ys)) for x in xs]):
        emitted += sum(b.shape[0] for b in blender.add(row=k, x=x, probs=p))
    emitted += sum(b.shape[0] for b in blender.finish())
    assert emitted == height
    # Carry of (tile - stride) rows over the width plus a few tile-high chunks: far below
    # one tile-high band, let alone the plane.
    bound = ((tile - stride) * width + 4 * tile * 128) * 5
    assert blender.peak_floats <= bound < tile * width * 5


def test_out_of_order_tiles_are_rejected():
    blender = BandBlender(height=128, width=128, row_origins=[0, 64], tile_size=64, stride=64,
                          window=np.ones((64, 64), np.float32), num_classes=2)
    p = np.ones((64, 64, 2), np.float32)
    blender.add(row=0, x=64, probs=p)
    with pytest.raises(ValueError, match="order"):
        blender.add(row=0, x=0, probs=p)
