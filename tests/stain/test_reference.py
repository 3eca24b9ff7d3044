"""choose_reference: the documented rules."""

from __future__ import annotations

import numpy as np
import pytest

from lggseg.data.synthetic import SyntheticSource
from lggseg.stain import choose_reference


def test_median_stain_picks_the_typical_image_and_skips_blank_ones():
    lgg = [s.image for s in SyntheticSource(count=3, size=64, num_classes=4, seed=1, stain="lgg")]
    gbm = SyntheticSource(count=1, size=64, num_classes=4, seed=1, stain="gbm")[0].image
    white = np.full((64, 64, 3), 245, np.uint8)
    images = [white, gbm, *lgg]
    index = choose_reference(images)
    assert index in (2, 3, 4), "the odd-stain and the blank image are never the median"


def test_most_tissue_and_data_sources():
    source = SyntheticSource(count=3, size=64, num_classes=4, seed=2, stain="lgg")
    index = choose_reference(source, rule="most-tissue")
    shares = [np.mean(s.image.min(axis=-1) < 220) for s in source]
    assert index == int(np.argmax(shares))


def test_bad_rule_and_no_tissue():
    with pytest.raises(ValueError, match="valid rules: median-stain, most-tissue"):
        choose_reference([np.zeros((8, 8, 3), np.uint8)], rule="first")
    with pytest.raises(ValueError, match="none of the 1 images"):
        choose_reference([np.full((16, 16, 3), 250, np.uint8)])
