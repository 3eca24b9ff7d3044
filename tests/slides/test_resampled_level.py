"""A resolution no stored level has: the slide gets a level at it, resampled from a finer one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lggseg.classes import LGG_4, write_palette
from lggseg.slides.reader import SlideReader


def test_a_level_is_added_at_a_resolution_the_slide_does_not_store(slide_path):
    import cv2

    with SlideReader(slide_path) as reader:  # 600 x 500 at 0.5 um/px, levels at 1.0 and 2.0
        assert reader.level_at_mpp(1.05) == 1  # within 10 %: the stored level
        assert reader.resampled_from(1) is None
        added = reader.level_at_mpp(1.5)
        assert added == 3 and reader.resampled_from(added) == 1  # from the finer neighbour
        assert reader.level_at_mpp(1.5) == added and reader.level_count == 4  # asked twice, added once
        assert reader.level_dimensions[added] == (200, 167)
        assert reader.level_mpp(added)[0] == pytest.approx(1.5)
        whole = reader.read_level(added)
        expected = cv2.resize(reader.read_level(1), (200, 167), interpolation=cv2.INTER_AREA)
        assert np.abs(whole.astype(int) - expected).mean() < 2.0
        # A region is the same pixels as the whole level's crop (to within a source pixel).
        region = reader.read_region(x=90, y=40, width=64, height=64, level=added)
        assert region.shape == (64, 64, 3)
        assert np.abs(region.astype(int) - whole[40:104, 90:154]).mean() < 6.0
        # Finer than level 0: enlarged from level 0.
        finer = reader.level_at_mpp(0.3)
        assert reader.resampled_from(finer) == 0 and reader.level_dimensions[finer] == (1000, 833)


def test_predict_resamples_a_slide_to_the_runs_resolution(tmp_path, slide_path, tiny_model):
    from lggseg.data.resolution import Resolution
    from lggseg_cli.predict_slide import predict_slide_command

    tiny_model.save(tmp_path / "model.keras")
    write_palette(LGG_4, tmp_path / "classes.tsv")
    Resolution(scale=1 / 3, mpp=1.5).write(tmp_path)  # trained at 1.5 um/px: no level of the slide
    result = predict_slide_command(model=tmp_path, slide=slide_path, out=tmp_path / "out", tile=64)
    assert result.resampled_from == 1 and result.shape == (167, 200)
    assert result.mpp[0] == pytest.approx(1.5)
    areas = json.loads(result.areas_json.read_text())
    assert areas["resampled_from_level"] == 1 and areas["shape"] == [167, 200]
    assert sum(areas["pixels"].values()) == 167 * 200
