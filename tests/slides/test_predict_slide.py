"""predict_slide: equal to whole-image prediction, bounded outputs readable by slide tools."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lggseg.classes import LGG_4
from lggseg.evaluation import SlidingWindowPredictor
from lggseg.slides import SlideReader, predict_slide, read_annotations, rasterize_annotations

TILE, OVERLAP, BATCH = 128, 0.25, 4


def _class_map(path, level=0):
    import tiffslide

    with tiffslide.TiffSlide(path) as s:
        w, h = s.level_dimensions[level]
        return np.asarray(s.read_region((0, 0), level, (w, h), as_array=True))[..., 0]


def _whole_image(model, image):
    probs = SlidingWindowPredictor(model=model, tile_size=TILE, overlap=OVERLAP, batch_size=BATCH).predict(image)
    top2 = np.sort(probs, axis=-1)[..., -2:]
    return probs.argmax(-1), (top2[..., 1] - top2[..., 0]) < 1e-5


@pytest.mark.parametrize("level", [0, 1])
def test_slide_equals_whole_image_prediction(tmp_path, slide_path, tiny_model, level):
    res = predict_slide(model=tiny_model, slide_path=slide_path, out_dir=tmp_path, level=level, tile_size=TILE,
                        overlap=OVERLAP, batch_size=BATCH, tissue_only=False, mask=None)
    with SlideReader(slide_path) as reader:
        image = reader.read_level(level)
    expected, tie = _whole_image(tiny_model, image)
    got = _class_map(res.class_map)
    assert got.shape == expected.shape == res.shape
    assert res.tiles_predicted == res.tiles_total
    # Identical except, at most, at exact ties of the top two classes.
    assert np.all((got == expected) | tie)


def test_only_tissue_tiles_are_predicted(tmp_path, slide_path, tiny_model, tissue_image):
    # No pixel mask: what is compared here is the choice of tiles.
    res = predict_slide(model=tiny_model, slide_path=slide_path, out_dir=tmp_path, tile_size=TILE,
                        overlap=OVERLAP, batch_size=BATCH, mask=None)
    assert 0 < res.tiles_predicted < res.tiles_total
    got = _class_map(res.class_map)
    expected, tie = _whole_image(tiny_model, tissue_image)
    # Glass (left 200 columns) far from tissue is never predicted: background.
    assert np.all(got[:, :200 - TILE] == LGG_4.index("BG"))
    # Tissue whose every covering tile touches tissue is predicted as the whole image.
    inner = slice(200 + TILE, None)
    assert np.all((got[:, inner] == expected[:, inner]) | tie[:, inner])


def test_outputs_pyramid_png_areas_geojson(tmp_path, slide_path, tiny_model):
    import tiffslide
    from PIL import Image

    res = predict_slide(model=tiny_model, slide_path=slide_path, out_dir=tmp_path, tile_size=TILE,
                        overlap=OVERLAP, batch_size=BATCH)
    # A pyramid tiffslide reads, with the resolution carried over.
    with tiffslide.TiffSlide(res.class_map) as s:
        assert s.level_dimensions[0] == (600, 500) and s.level_count == 2
        assert s.level_dimensions[1] == (300, 250)
        assert s.properties[tiffslide.PROPERTY_NAME_MPP_X] == pytest.approx(0.5)
    full = _class_map(res.class_map)
    np.testing.assert_array_equal(_class_map(res.class_map, level=1), full[::2, ::2])
    assert Image.open(res.preview).size == (600, 500)

    areas = json.loads(res.areas_json.read_text())
    assert areas["unit"] == "mm2" and res.area_unit == "mm2"
    counts = np.bincount(full.ravel(), minlength=4)
    for i, code in enumerate(LGG_4.codes):
        assert areas["pixels"][code] == counts[i]
        assert areas["areas"][code] == pytest.approx(counts[i] * 0.25e-6)
    assert sum(areas["areas"].values()) == pytest.approx(600 * 500 * 0.25e-6)

    collection = json.loads(res.geojson.read_text())
    assert collection["type"] == "FeatureCollection" and collection["features"]
    for feature in collection["features"]:
        assert feature["properties"]["objectType"] == "annotation"
        assert feature["properties"]["classification"]["name"] in LGG_4.codes
        for polygon in feature["geometry"]["coordinates"]:
            for ring in polygon:
                assert ring[0] == ring[-1] and len(ring) >= 4
    # The polygons, rasterised back, cover the main class's pixels (validity and exact
    # areas of every class: test_geojson_validity.py).
    back = rasterize_annotations(read_annotations(res.geojson, scheme=LGG_4), scheme=LGG_4,
                                 x=0, y=0, width=600, height=500)
    main = 1 + int(np.argmax(counts[1:]))
    inter = np.sum((back == main) & (full == main))
    union = np.sum((back == main) | (full == main))
    assert inter / union > 0.9


def test_geojson_polygons_with_holes_cover_the_classes(tmp_path):
    from lggseg.slides import class_map_features

    m = np.zeros((120, 160), np.uint8)
    m[10:110, 10:90] = 1          # CT square ...
    m[30:90, 30:70] = 0           # ... with a hole
    m[45:75, 45:55] = 2           # LE island inside the hole
    m[20:60, 100:150] = 3         # IT rectangle
    m[80:100, 120:140] = 3        # second IT part
    features = list(class_map_features(m, scheme=LGG_4, scale=(2.0, 2.0)))
    names = [f["properties"]["classification"]["name"] for f in features]
    assert names == ["CT", "LE", "IT"]
    ct = features[0]["geometry"]["coordinates"]
    assert len(ct) == 1 and len(ct[0]) == 2  # one polygon: outline + hole
    assert len(features[2]["geometry"]["coordinates"]) == 2
    assert features[1]["properties"]["classification"]["color"] == list(LGG_4.colours[2])
    from lggseg.slides.annotations import Annotation

    anns = [Annotation(code=f["properties"]["name"],
                       polygons=tuple(tuple(np.asarray(r) for r in p) for p in f["geometry"]["coordinates"]))
            for f in features]
    # Level-0 coordinates are twice the map's; rasterise at half scale to compare. cv2's
    # fill also takes the pixels an outline's edge runs along, so the pixel-edge outlines
    # come back a pixel wider on one side (30 x 10 LE: IoU 300 / 341).
    back = rasterize_annotations(anns, scheme=LGG_4, x=0, y=0, width=160, height=120, scale=(2.0, 2.0))
    for i in (1, 2, 3):
        inter, union = np.sum((back == i) & (m == i)), np.sum((back == i) | (m == i))
        assert inter / union > 0.85
    # The streaming writer writes the same collection.
    from lggseg.slides import write_class_map_geojson, write_geojson

    a = write_geojson(tmp_path / "a.geojson", class_map_features(m, scheme=LGG_4, scale=(2.0, 2.0)))
    b = write_class_map_geojson(tmp_path / "b.geojson", m, scheme=LGG_4, scale=(2.0, 2.0))
    assert json.loads(a.read_text()) == json.loads(b.read_text())


def test_level_choice_and_errors(tmp_path, slide_path, tiny_model, tissue_image, make_pyramid):
    res = predict_slide(model=tiny_model, slide_path=slide_path, out_dir=tmp_path, mpp=1.0, tile_size=TILE)
    assert res.level == 1 and res.mpp == pytest.approx((1.0, 1.0)) and res.shape == (250, 300)
    with pytest.raises(ValueError, match="level 7 does not exist"):
        predict_slide(model=tiny_model, slide_path=slide_path, out_dir=tmp_path, level=7)
    with pytest.raises(ValueError, match="not both"):
        predict_slide(model=tiny_model, slide_path=slide_path, out_dir=tmp_path, level=1, mpp=1.0)
    with pytest.raises(FileNotFoundError):
        predict_slide(model=tiny_model, slide_path=tmp_path / "missing.svs", out_dir=tmp_path)
    bare = make_pyramid(tmp_path / "bare.tif", tissue_image[:200, :300], levels=1, mpp=None)
    with pytest.raises(ValueError, match="does not record its resolution"):
        predict_slide(model=tiny_model, slide_path=bare, out_dir=tmp_path, mpp=0.5)
    res = predict_slide(model=tiny_model, slide_path=bare, out_dir=tmp_path, tile_size=TILE)
    assert res.area_unit == "pixels" and sum(res.areas.values()) == 200 * 300


def test_reader_regions_and_thumbnail(slide_path, tissue_image, tmp_path, make_pyramid):
    from lggseg.slides import is_slide

    with SlideReader(slide_path) as r:
        assert r.level_dimensions == ((600, 500), (300, 250), (150, 125))
        assert r.mpp == pytest.approx((0.5, 0.5)) and r.level_mpp(2) == pytest.approx((2.0, 2.0))
        np.testing.assert_array_equal(r.read_region(x=10, y=20, width=30, height=40), tissue_image[20:60, 10:40])
        # Outside the level: white glass, requested size kept.
        edge = r.read_region(x=590, y=-5, width=20, height=10)
        assert edge.shape == (10, 20, 3) and np.all(edge[:5] == 255) and np.all(edge[:, 10:] == 255)
        assert r.level_for_mpp(1.9) == 2
    assert is_slide(slide_path)
    single = make_pyramid(tmp_path / "single.tif", tissue_image, levels=1)
    with SlideReader(single) as r:
        thumb, level, factor = r.thumbnail(max_size=100, strip_rows=64)
    assert level == 0 and factor == 6 and thumb.shape == (84, 100, 3)
    plain = tmp_path / "photo.tif"
    import tifffile

    tifffile.imwrite(plain, tissue_image[:50, :50])
    assert not is_slide(plain)
