"""write_synthetic_slide: a pyramidal TIFF that slide readers open, glass and tissue."""

from __future__ import annotations

import numpy as np
import pytest

from lggseg.data import detect_tissue
from lggseg.slides import SlideReader, write_synthetic_slide


@pytest.mark.parametrize("pyramid", ["pages", "subifds"])
def test_synthetic_slide_is_a_pyramid(tmp_path, pyramid):
    path = write_synthetic_slide(tmp_path / "s.tif", width=700, height=600, block=64, distinct=2,
                                 min_level_size=100, pyramid=pyramid, compression="zlib", mpp=0.25)
    with SlideReader(path) as r:
        assert r.level_dimensions == ((700, 600), (350, 300), (175, 150))
        assert r.mpp == pytest.approx((0.25, 0.25))
        full, half = r.read_level(0), r.read_level(1)
    tissue = detect_tissue(full).mean()
    assert 0.4 < tissue < 0.9  # a section with glass around it
    # Level 1 is level 0 shrunk (area averaging per 64-pixel block).
    import cv2

    np.testing.assert_allclose(half.astype(float), cv2.resize(full, (350, 300), interpolation=cv2.INTER_AREA),
                               atol=2)
