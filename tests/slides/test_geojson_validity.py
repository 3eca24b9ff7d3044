"""GeoJSON export: valid geometry with holes, area equal to the class map's, per-region features."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from lggseg.classes import LGG_4
from lggseg.slides import class_map_features, write_class_map_geojson, write_geojson

SCALE = (2.0, 3.0)


@pytest.fixture(scope="module")
def awkward_map() -> np.ndarray:
    """Shapes that make pixel-centre contours self-intersect, one class each or mixed."""
    m = np.zeros((96, 128), np.uint8)
    m[4:20, 4:20] = (np.indices((16, 16)).sum(0) % 2).astype(np.uint8)  # CT checkerboard: corners touch
    m[24:56, 4:36] = 2                                                 # LE ring ...
    m[32:48, 12:28] = 0                                                # ... with a hole
    m[38:42, 18:22] = 3                                                # IT island in the hole
    m[39:41, 19:21] = 2                                                # LE island in the island
    m[30, 4:36] = 1                                                    # CT one-pixel thread across the ring
    m[60:90, 40] = 3                                                   # IT vertical thread
    m[60:90, 50:80][np.eye(30, dtype=bool)] = 1                        # CT diagonal staircase
    m[10:50, 60:100] = 3                                               # IT block with holes that
    m[20, 70] = m[21, 71] = 0                                          # touch at a corner,
    m[30:34, 80:84] = 0                                                # a square one,
    m[30, 99] = 0                                                      # and a notch at the border
    return m


def _geometries(features):
    return [(f["properties"]["classification"]["name"], shape(f["geometry"]), f["properties"]) for f in features]


def test_class_features_are_valid_keep_holes_and_area(awkward_map):
    features = list(class_map_features(awkward_map, scheme=LGG_4, scale=SCALE))
    geometries = _geometries(features)
    assert [code for code, _, _ in geometries] == ["CT", "LE", "IT"]
    for code, geometry, properties in geometries:
        assert geometry.geom_type == "MultiPolygon" and shapely.is_valid(geometry), shapely.is_valid_reason(geometry)
        assert properties["objectType"] == "annotation"
        assert properties["classification"]["color"] == list(LGG_4.colours[LGG_4.index(code)])
        # Pixel-edge polygons: the area is exactly the pixel count times the pixel size.
        pixels = np.count_nonzero(awkward_map == LGG_4.index(code))
        assert geometry.area == pytest.approx(pixels * SCALE[0] * SCALE[1], rel=1e-9)
    by_code = {code: g for code, g, _ in geometries}
    assert any(len(p.interiors) >= 1 for p in by_code["LE"].geoms)        # the ring's hole
    assert sum(len(p.interiors) for p in by_code["IT"].geoms) >= 3         # block holes and the island's
    # A map pixel (i, j) spans [i sx, (i + 1) sx] x [j sy, (j + 1) sy] in level-0 pixels.
    assert by_code["IT"].bounds == (18 * 2.0, 10 * 3.0, 100 * 2.0, 90 * 3.0)  # island col 18, block to col 100


def test_streaming_writer_writes_the_same_collection(tmp_path, awkward_map):
    a = write_geojson(tmp_path / "a.geojson", class_map_features(awkward_map, scheme=LGG_4, scale=SCALE))
    b = write_class_map_geojson(tmp_path / "b.geojson", awkward_map, scheme=LGG_4, scale=SCALE)
    assert json.loads(a.read_text()) == json.loads(b.read_text())
    c = write_class_map_geojson(tmp_path / "c.geojson", awkward_map, scheme=LGG_4, scale=SCALE, features="region")
    assert json.loads(c.read_text())["features"] == list(
        class_map_features(awkward_map, scheme=LGG_4, scale=SCALE, features="region"))


def test_region_features_one_per_connected_component(awkward_map):
    import cv2

    probabilities = np.random.default_rng(0).random((*awkward_map.shape, 4))
    features = list(class_map_features(awkward_map, scheme=LGG_4, scale=SCALE, features="region",
                                       probabilities=probabilities, mpp=0.5))
    for code in ("CT", "LE", "IT"):
        index = LGG_4.index(code)
        count, labels = cv2.connectedComponents((awkward_map == index).astype(np.uint8), connectivity=4)
        regions = [(g, p) for c, g, p in _geometries(features) if c == code]
        assert len(regions) == count - 1
        expected = sorted(np.bincount(labels.ravel())[1:] * SCALE[0] * SCALE[1])
        assert sorted(p["measurements"]["Area px^2"] for _, p in regions) == pytest.approx(expected)
        for geometry, p in regions:
            assert geometry.geom_type == "Polygon" and shapely.is_valid(geometry)
            assert p["measurements"]["Area px^2"] == pytest.approx(geometry.area)
            assert p["measurements"]["Area µm^2"] == pytest.approx(geometry.area * 0.25, abs=1e-3)
        # The mean probability of the region's class over the region's pixels.
        means = {round(float(probabilities[..., index][labels == k].mean()), 4) for k in range(1, count)}
        assert {p["measurements"]["Mean probability"] for _, p in regions} == means


def test_min_area_filter_warns_with_both_areas(awkward_map):
    with pytest.warns(UserWarning, match=r"GeoJSON CT: the polygons cover .* but the class map"):
        features = list(class_map_features(awkward_map, scheme=LGG_4, scale=SCALE, min_area=2 * 6.0))
    ct = next(g for code, g, _ in _geometries(features) if code == "CT")
    assert ct.area == 32 * 6.0  # only the thread is left of CT; its single pixels (6 px^2 each) went ...
    # ... while the default keeps every pixel and says nothing.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(class_map_features(awkward_map, scheme=LGG_4, scale=SCALE))


def test_simplification_stays_valid(awkward_map):
    m = np.zeros((200, 200), np.uint8)
    yy, xx = np.mgrid[:200, :200]
    m[(yy - 100) ** 2 + (xx - 100) ** 2 < 80 ** 2] = 1
    m[(yy - 100) ** 2 + (xx - 100) ** 2 < 40 ** 2] = 3
    for layout in ("class", "region"):
        for code, geometry, _ in _geometries(class_map_features(m, scheme=LGG_4, simplify=1.5, features=layout)):
            assert shapely.is_valid(geometry)
            pixels = np.count_nonzero(m == LGG_4.index(code))
            assert geometry.area == pytest.approx(pixels, rel=0.02)


def test_errors_name_the_value_and_choices(awkward_map):
    with pytest.raises(ValueError, match="'regions'.*class, region"):
        list(class_map_features(awkward_map, scheme=LGG_4, features="regions"))
    with pytest.raises(ValueError, match="uint8 class map"):
        list(class_map_features(awkward_map.astype(np.int32), scheme=LGG_4))
    with pytest.raises(ValueError, match="expected"):
        list(class_map_features(awkward_map, scheme=LGG_4, features="region", probabilities=np.zeros((2, 2, 4))))


def test_predicted_slide_geojson_is_valid_and_keeps_the_traced_area(tmp_path, slide_path, tiny_model):
    import tiffslide

    from lggseg.slides import predict_slide

    for overview_size, layout in ((2048, "class"), (256, "region")):
        out = tmp_path / layout
        res = predict_slide(model=tiny_model, slide_path=slide_path, out_dir=out, tile_size=128, batch_size=4,
                            overview_size=overview_size, geojson_features=layout)
        with tiffslide.TiffSlide(res.class_map) as s:
            full = np.asarray(s.read_region((0, 0), 0, s.level_dimensions[0], as_array=True))[..., 0]
        # The GeoJSON traces the overview, every factor-th pixel of the class map.
        factor = max(1, math.ceil(max(full.shape) / overview_size))
        overview = full[::factor, ::factor]
        pixels = json.loads(res.areas_json.read_text())["pixels"]
        areas: dict[str, float] = {}
        for code, geometry, properties in _geometries(json.loads(res.geojson.read_text())["features"]):
            assert shapely.is_valid(geometry), shapely.is_valid_reason(geometry)
            areas[code] = areas.get(code, 0.0) + geometry.area
            if layout == "region":
                assert properties["measurements"]["Area µm^2"] == pytest.approx(geometry.area * 0.25, abs=1e-3)
        for code in ("CT", "LE", "IT"):
            traced = np.count_nonzero(overview == LGG_4.index(code)) * factor**2
            assert areas.get(code, 0.0) == pytest.approx(traced, rel=0.02)
            if factor == 1:  # the overview is the class map itself: areas.json agrees too
                assert areas.get(code, 0.0) == pytest.approx(pixels[code], rel=0.02)
    with pytest.raises(ValueError, match="geojson_features='polygons'; choose one of class, region"):
        predict_slide(model=tiny_model, slide_path=slide_path, out_dir=tmp_path, geojson_features="polygons")
