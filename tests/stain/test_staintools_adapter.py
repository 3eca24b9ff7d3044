"""The staintools adapters: same output as staintools, and no crash where staintools crashes."""

from __future__ import annotations

import numpy as np
import pytest

from lggseg.data.synthetic import SyntheticSource
from lggseg.stain import StaintoolsMacenko, StaintoolsVahadane

staintools = pytest.importorskip("staintools")


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return SyntheticSource(count=1, size=96, num_classes=4, seed=11, stain="gbm")[0].image


@pytest.fixture(scope="module")
def tile() -> np.ndarray:
    return SyntheticSource(count=1, size=64, num_classes=4, seed=5, stain="lgg")[0].image


def test_macenko_adapter_equals_staintools(reference, tile):
    theirs = staintools.StainNormalizer(method="macenko")
    theirs.fit(reference.copy())
    ours = StaintoolsMacenko().fit(reference)
    assert np.array_equal(ours.transform(tile), theirs.transform(tile.copy()))
    assert ours.transformed_count == 1


def test_staintools_itself_crashes_on_a_white_tile(reference):
    theirs = staintools.StainNormalizer(method="macenko")
    theirs.fit(reference.copy())
    with pytest.raises(staintools.miscellaneous.exceptions.TissueMaskException):
        theirs.transform(np.full((32, 32, 3), 245, np.uint8))


def test_white_and_near_empty_tiles_pass_through(reference):
    ours = StaintoolsMacenko().fit(reference)
    white = np.full((32, 32, 3), 245, np.uint8)
    few = white.copy()
    few[3:5, 3:5] = (120, 60, 150)
    out = ours.transform(np.stack([white, few]))
    assert np.array_equal(out, np.stack([white, few]))
    assert ours.passthrough_count == 2 and ours.passthrough_reasons == {"background": 2}


@pytest.mark.parametrize(
    "pixels, expected",
    [
        # One tissue pixel: staintools' eigendecomposition of a 1-sample covariance fails.
        (1, "staintools failed"),
        # A single colour: staintools finds an absent stain, divides 0 by 0 and would
        # return an all-black tile.
        (1024, "degenerate"),
    ],
)
def test_staintools_failures_become_pass_throughs(reference, pixels, expected):
    ours = StaintoolsMacenko(min_tissue_pixels=1).fit(reference)  # let the tile reach staintools
    tile = np.full((32, 32, 3), 245, np.uint8)
    tile.reshape(-1, 3)[:pixels] = (150, 80, 160)
    out = ours.transform(tile)
    assert out.dtype == np.uint8 and np.array_equal(out, tile)
    assert ours.last_passthrough[0].startswith(expected), ours.last_passthrough


def test_vahadane_adapter_normalises_and_survives_a_pen_tile(reference, tile):
    ours = StaintoolsVahadane().fit(reference)  # ~1 s: spams dictionary learning
    pen = tile.copy()
    pen[:, 20:40] = (30, 60, 160)
    white = np.full(tile.shape, 245, np.uint8)
    out = ours.transform(np.stack([pen, white]))  # ~1 s for the pen tile
    assert out.dtype == np.uint8 and out.shape == (2, *tile.shape)
    assert ours.last_passthrough[1].startswith("background")
    assert ours.passthrough_count + ours.transformed_count == 2
