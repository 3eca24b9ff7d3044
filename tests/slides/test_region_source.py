"""SlideRegionSource: QuPath GeoJSON or label images on a slide -> image + mask samples."""

from __future__ import annotations

import json

import gin
import numpy as np
import pytest

from lggseg.classes import LGG_4
from lggseg.slides import SlideReader, SlideRegionSource, read_annotations

CT, LE, IT, BG = (LGG_4.index(c) for c in ("CT", "LE", "IT", "BG"))


def _feature(geometry, name=None):
    props = {"objectType": "annotation"}
    if name is not None:
        props["classification"] = {"name": name, "color": [0, 0, 0]}
    return {"type": "Feature", "geometry": geometry, "properties": props}


def _square(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


@pytest.fixture
def qupath_geojson(tmp_path):
    features = [
        # CT square with a square hole, QuPath's Polygon layout (outline, then holes).
        _feature({"type": "Polygon", "coordinates": [_square(300, 100, 500, 300), _square(360, 160, 440, 240)]}, "CT"),
        # Two LE parts in one MultiPolygon, class name in another letter case.
        _feature({"type": "MultiPolygon", "coordinates": [[_square(220, 380, 260, 420)], [_square(270, 380, 290, 420)]]},
                 "le"),
        # QuPath's renamed class, mapped with class_names.
        _feature({"type": "Polygon", "coordinates": [_square(520, 400, 580, 460)]}, "Infiltrating"),
        # Skipped with a warning: no class, and a point.
        _feature({"type": "Polygon", "coordinates": [_square(10, 10, 20, 20)]}),
        _feature({"type": "Point", "coordinates": [5, 5]}, "CT"),
    ]
    path = tmp_path / "small.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_geojson_regions_become_samples(slide_path, qupath_geojson, tissue_image):
    with pytest.warns(UserWarning, match="skipped 1 feature\\(s\\) without a classification, 1 feature"):
        src = SlideRegionSource(slides=[slide_path], annotations=[qupath_geojson], level=0, tile_size=64,
                                class_names={"Infiltrating": "IT"})
    assert src.scheme == LGG_4 and len(src) == 3  # the two LE parts' boxes merge
    by_box = {box: s for (_, _, box), s in zip(src.regions, src)}
    ct = by_box[(300, 100, 500, 300)]
    # The slide pixels of the box, and the classes with the hole as background.
    np.testing.assert_array_equal(ct.image, tissue_image[100:300, 300:500])
    assert ct.mask[0, 0] == CT and ct.mask[100, 100] == BG and ct.mask[199, 199] == CT
    # cv2.fillPoly adds the pixels the hole's edges cross: at most a pixel-wide border.
    assert 200 * 200 - 82 * 82 <= np.sum(ct.mask == CT) <= 200 * 200 - 80 * 80
    le = by_box[(220, 368, 290, 432)]  # 40 rows grown to a 64-pixel tile around the centre
    assert 40 * 40 + 20 * 40 <= np.sum(le.mask == LE) <= 41 * 41 + 21 * 41
    assert np.all(le.mask[:, 41:50] == BG)
    it = by_box[(518, 398, 582, 462)]  # grown to one 64-pixel tile around the centre
    assert it.mask.shape == (64, 64) and 60 * 60 <= np.sum(it.mask == IT) <= 61 * 61
    assert all(s.group == "small" for s in src)


def test_regions_at_a_reduced_level(slide_path, qupath_geojson):
    with pytest.warns(UserWarning):
        src = SlideRegionSource(slides=slide_path, annotations=qupath_geojson, level=1, tile_size=32,
                                class_names={"Infiltrating": "IT"})
    ct = next(s for (_, _, box), s in zip(src.regions, src) if box[:2] == (150, 50))
    assert ct.mask.shape == (100, 100)
    assert 100 * 100 - 42 * 42 <= np.sum(ct.mask == CT) <= 100 * 100 - 40 * 40
    with SlideReader(slide_path) as r:
        np.testing.assert_array_equal(ct.image, r.read_region(x=150, y=50, width=100, height=100, level=1))


def test_label_image_regions(slide_path, tmp_path):
    from PIL import Image

    labels = np.zeros((125, 150), np.uint8)  # level 2 of the 600 x 500 slide
    labels[10:30, 20:60] = CT
    labels[90:100, 100:110] = IT
    Image.fromarray(labels, mode="L").save(tmp_path / "labels.png")
    src = SlideRegionSource(slides=[slide_path], annotations=[tmp_path / "labels.png"], level=0, tile_size=32)
    assert len(src) == 2
    big = max(src, key=lambda s: s.mask.size)
    assert big.mask.shape == (80, 160) and np.all(big.mask == CT)
    small = min(src, key=lambda s: s.mask.size)
    assert small.mask.shape == (40, 40) and np.all(small.mask == IT)


def test_samples_feed_the_usual_samplers(slide_path, qupath_geojson):
    from lggseg.training import RareClassOversampler, TileDataset

    with pytest.warns(UserWarning):
        src = SlideRegionSource(slides=[slide_path], annotations=[qupath_geojson], tile_size=64,
                                class_names={"Infiltrating": "IT"})
    data = TileDataset(source=src, sampler=RareClassOversampler(rates={"LE": 3.0}), tile_size=64, batch_size=2,
                       seed=0)
    x, y = data[0]
    assert tuple(x.shape) == (2, 64, 64, 3) and tuple(y.shape) == (2, 64, 64)


def test_errors_name_the_file_and_choices(slide_path, tmp_path, qupath_geojson):
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(_feature({"type": "Polygon", "coordinates": [_square(0, 0, 50, 50)]}, "Tumour")))
    with pytest.raises(ValueError, match="Tumour.*BG, CT, LE, IT"):
        read_annotations(bad, scheme=LGG_4)
    with pytest.raises(ValueError, match="one annotation file per slide"):
        SlideRegionSource(slides=[slide_path, slide_path], annotations=[qupath_geojson])
    with pytest.raises(FileNotFoundError, match="missing.geojson"):
        SlideRegionSource(slides=[slide_path], annotations=[tmp_path / "missing.geojson"])
    far = tmp_path / "far.geojson"
    far.write_text(json.dumps(_feature({"type": "Polygon", "coordinates": [_square(5000, 5000, 5100, 5100)]}, "CT")))
    with pytest.raises(ValueError, match="no annotated region"):
        SlideRegionSource(slides=[slide_path], annotations=[far])


def test_registered_with_gin(slide_path, qupath_geojson):
    import lggseg.slides  # noqa: F401

    gin.clear_config()
    gin.parse_config([
        f"slide_region_source.slides = ['{slide_path}']",
        f"slide_region_source.annotations = ['{qupath_geojson}']",
        "slide_region_source.class_names = {'Infiltrating': 'IT'}",
        "slide_region_source.tile_size = 64",
    ])
    try:
        with pytest.warns(UserWarning):
            src = gin.get_configurable("lggseg.slides.slide_region_source")()
        assert len(src) == 3
    finally:
        gin.clear_config()
