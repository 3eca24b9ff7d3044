"""Class maps -> valid GeoJSON polygons with holes that QuPath imports, keeping the area.

Each class's pixels are traced by ``rasterio.features.shapes`` (GDAL's polygonizer):
every 4-connected region becomes one polygon whose rings run along the *pixel edges*,
with its holes, so a polygon's area is exactly its pixel count and rings never cross
themselves (the self-intersecting rings of pixel-centre contour tracers made QuPath
reject whole files, tiatoolbox issue #1080). Regions of one class touch at most at a
corner, so together they form a valid MultiPolygon; ``shapely.make_valid`` repairs any
geometry that is not valid all the same (after simplification, say), and the repair
is logged.

Coordinates are level-0 slide pixels (QuPath's image coordinates). A map pixel
``(i, j)`` that covers ``scale = (sx, sy)`` level-0 pixels spans
``[i * sx, (i + 1) * sx] x [j * sy, (j + 1) * sy]`` (the affine transform
``Affine.scale(sx, sy)``). This convention changed: the earlier contours ran through
pixel centres, ``((i + 0.5) * sx, (j + 0.5) * sy)``, half a pixel inside the region.
Coordinates are written rounded to 3 decimals; before simplification every ring is
axis-aligned, and rounding each axis monotonically keeps such rings valid.

Two layouts (``features``): ``'class'``, one MultiPolygon Feature per class, as
QuPath's own export of one annotation per class; ``'region'``, one Polygon Feature per
connected region, with ``measurements`` (its area in level-0 pixels, in µm² when the
slide's resolution is given, and its mean class probability when a probability map is
given). The properties follow QuPath's GeoJSON export (``objectType: annotation``, a
``classification`` with ``name`` and ``color``), so File > Import objects brings the
polygons in as classified annotations.

Area is kept by default: each class's polygon area is checked against its pixel count
times ``sx * sy``, and a difference beyond 2 % (only possible through the optional
``min_area`` filter or ``simplify``) is warned about, naming the class and both areas.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from lggseg.classes import ClassScheme

__all__ = ["FEATURE_LAYOUTS", "class_map_features", "write_class_map_geojson", "write_geojson"]

FEATURE_LAYOUTS = ("class", "region")

# A class's polygons may differ from its pixel area by this share before a warning.
AREA_TOLERANCE = 0.02

_log = logging.getLogger(__name__)


def class_map_features(
    class_map: np.ndarray,
    *,
    scheme: ClassScheme,
    scale: tuple[float, float] = (1.0, 1.0),
    skip: tuple[str, ...] = ("BG",),
    features: str = "class",
    min_area: float = 0.0,
    simplify: float = 0.0,
    probabilities: np.ndarray | None = None,
    mpp: tuple[float, float] | float | None = None,
) -> Iterator[dict]:
    """GeoJSON Features for each class present in a uint8 class map.

    Args:
      class_map: ``(H, W)`` uint8 class indices.
      scheme: names and colours of the classes.
      scale: level-0 pixels per map pixel along ``(x, y)``.
      skip: class codes not exported (background is not an annotation).
      features: ``'class'`` (one MultiPolygon per class) or ``'region'`` (one Polygon
        per 4-connected region, with measurements).
      min_area: regions smaller than this many level-0 pixels (holes excluded) are
        dropped; 0 keeps every pixel. Dropping area beyond 2 % of a class warns.
      simplify: Douglas-Peucker tolerance in level-0 pixels (topology preserving); 0
        keeps the exact pixel-edge outlines.
      probabilities: ``(H, W, C)`` class probabilities on the class map's grid, for the
        ``'Mean probability'`` measurement of each region (``'region'`` only; optional,
        as slide prediction keeps no probability map).
      mpp: level-0 microns per pixel ``(x, y)`` (or one number), for the ``'Area µm^2'``
        measurement of each region; ``None`` leaves it out.

    Yields:
      In class order, the Features of each exported class present (a generator, so that
      only one class's polygons are in memory at a time).

    Raises:
      ValueError: for a class map that is not ``(H, W)`` uint8, an unknown ``features``
        layout, or probabilities of the wrong shape.
    """
    class_map = np.asarray(class_map)
    _check(class_map, features=features, probabilities=probabilities, scheme=scheme)
    for index, code, colour in _exported(scheme=scheme, skip=skip):
        if features == "class":
            polygons = list(_class_polygons(class_map, index, code=code, scale=scale, min_area=min_area,
                                            simplify=simplify))
            if polygons:
                feature = _feature_shell(code, colour, "MultiPolygon")
                feature["geometry"]["coordinates"] = [_coordinates(p) for p in polygons]
                yield feature
        else:
            yield from _region_features(class_map, index, code=code, colour=colour, scale=scale,
                                        min_area=min_area, simplify=simplify, probabilities=probabilities, mpp=mpp)


def write_geojson(path: str | Path, features: Iterable[dict]) -> Path:
    """Write a FeatureCollection, one feature at a time (features may be a generator)."""
    path = Path(path)
    with path.open("w") as f:
        f.write('{"type": "FeatureCollection", "features": [')
        for i, feature in enumerate(features):
            f.write((",\n" if i else "\n") + json.dumps(feature))
        f.write("\n]}\n")
    return path


def write_class_map_geojson(
    path: str | Path,
    class_map: np.ndarray,
    *,
    scheme: ClassScheme,
    scale: tuple[float, float] = (1.0, 1.0),
    skip: tuple[str, ...] = ("BG",),
    features: str = "class",
    min_area: float = 0.0,
    simplify: float = 0.0,
    probabilities: np.ndarray | None = None,
    mpp: tuple[float, float] | float | None = None,
) -> Path:
    """:func:`class_map_features` written straight to a file, one polygon at a time.

    The same FeatureCollection as ``write_geojson(path, class_map_features(...))``, but
    in the ``'class'`` layout a class's polygons are serialised as they are traced, so a
    large, fragmented class never exists as one Python object (unless ``simplify``,
    which simplifies a class's polygons together so that they do not come to overlap).
    """
    class_map = np.asarray(class_map)
    _check(class_map, features=features, probabilities=probabilities, scheme=scheme)
    if features == "region":
        return write_geojson(path, class_map_features(
            class_map, scheme=scheme, scale=scale, skip=skip, features=features, min_area=min_area,
            simplify=simplify, probabilities=probabilities, mpp=mpp))
    path = Path(path)
    with path.open("w") as f:
        f.write('{"type": "FeatureCollection", "features": [')
        written = 0
        for index, code, colour in _exported(scheme=scheme, skip=skip):
            polygons = _class_polygons(class_map, index, code=code, scale=scale, min_area=min_area,
                                       simplify=simplify)
            first = next(polygons, None)
            if first is None:
                continue
            shell = json.dumps(_feature_shell(code, colour, "MultiPolygon"))
            # The shell's empty coordinate list is where the polygons go.
            head, tail = shell.split('"coordinates": []', 1)
            f.write((",\n" if written else "\n") + head + '"coordinates": [')
            f.write(json.dumps(_coordinates(first)))
            for polygon in polygons:
                f.write(", " + json.dumps(_coordinates(polygon)))
            f.write("]" + tail)
            written += 1
        f.write("\n]}\n")
    return path


def _check(class_map: np.ndarray, *, features: str, probabilities: np.ndarray | None, scheme: ClassScheme) -> None:
    if class_map.ndim != 2 or class_map.dtype != np.uint8:
        raise ValueError(f"Expected a uint8 class map (H, W), got {class_map.shape} {class_map.dtype}.")
    if features not in FEATURE_LAYOUTS:
        raise ValueError(f"features={features!r} is not a GeoJSON layout; choose one of {', '.join(FEATURE_LAYOUTS)}.")
    if probabilities is not None:
        expected = (*class_map.shape, scheme.num_classes)
        if features != "region":
            raise ValueError("probabilities are measured per region; pass features='region' with them.")
        if tuple(np.shape(probabilities)) != expected:
            raise ValueError(f"probabilities of shape {tuple(np.shape(probabilities))} do not match the class map "
                             f"and scheme; expected {expected}.")


def _exported(*, scheme: ClassScheme, skip: tuple[str, ...]):
    skipped = {c.lower() for c in skip}
    for index, (code, colour) in enumerate(zip(scheme.codes, scheme.colours)):
        if code.lower() not in skipped:
            yield index, code, colour


def _feature_shell(code: str, colour, geometry_type: str) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": geometry_type, "coordinates": []},
        "properties": {
            "objectType": "annotation",
            "name": code,
            "classification": {"name": code, "color": [int(v) for v in colour]},
        },
    }


def _traced(mask: np.ndarray, *, source: np.ndarray, scale: tuple[float, float]):
    """``(value, Polygon)`` of each 4-connected run of equal ``source`` values inside ``mask``."""
    from rasterio.features import shapes
    from rasterio.transform import Affine
    from shapely.geometry import shape

    # 4-connected: diagonal neighbours are separate regions that touch at a corner, which
    # a MultiPolygon allows; 8-connected regions would have rings that touch themselves.
    for geometry, value in shapes(source, mask=mask, connectivity=4, transform=Affine.scale(*scale)):
        yield int(value), shape(geometry)


def _valid_parts(geometry, *, code: str):
    """The polygons of ``geometry``, repaired by ``shapely.make_valid`` if it is invalid."""
    import shapely

    if not shapely.is_valid(geometry):
        _log.info("%s: repaired an invalid polygon (%s).", code, shapely.is_valid_reason(geometry))
        geometry = shapely.make_valid(geometry)
    for part in shapely.get_parts(geometry):
        if part.geom_type == "Polygon" and not part.is_empty:
            yield part
        elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
            yield from _valid_parts(part, code=code)  # lines and points have no area


def _class_polygons(class_map: np.ndarray, index: int, *, code: str, scale, min_area: float, simplify: float):
    """The valid polygons of class ``index``, warning when they lose area."""
    from shapely.geometry import MultiPolygon

    mask = class_map == index
    pixels = int(np.count_nonzero(mask))
    if not pixels:
        return
    polygons = (p for _, p in _traced(mask, source=mask.view(np.uint8), scale=scale) if p.area >= min_area)
    if simplify > 0:
        # Together, so that the topology-preserving simplifier keeps neighbours apart.
        polygons = iter([MultiPolygon(list(polygons)).simplify(simplify, preserve_topology=True)])
    area = 0.0
    for polygon in polygons:
        for part in _valid_parts(polygon, code=code):
            area += part.area
            yield part
    _check_area(code, polygon_area=area, pixels=pixels, scale=scale, min_area=min_area, simplify=simplify)


def _region_features(class_map: np.ndarray, index: int, *, code: str, colour, scale, min_area: float,
                     simplify: float, probabilities: np.ndarray | None, mpp) -> Iterator[dict]:
    """One Polygon Feature per 4-connected region of class ``index``, with measurements."""
    import cv2

    mask = class_map == index
    pixels = int(np.count_nonzero(mask))
    if not pixels:
        return
    # Labelled first, so that each traced polygon knows its pixels (for the probabilities).
    _, labels = cv2.connectedComponents(mask.view(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    sums = None
    if probabilities is not None:
        sums = np.bincount(labels.ravel(), weights=np.asarray(probabilities)[..., index].ravel())
        counts = np.bincount(labels.ravel())
    del mask
    um2 = None if mpp is None else float(np.prod(np.broadcast_to(np.asarray(mpp, dtype=float), (2,))))
    area = 0.0
    for label, polygon in _traced(labels > 0, source=labels, scale=scale):
        if polygon.area < min_area:
            continue
        if simplify > 0:
            polygon = polygon.simplify(simplify, preserve_topology=True)
        for part in _valid_parts(polygon, code=code):
            area += part.area
            feature = _feature_shell(code, colour, "Polygon")
            feature["geometry"]["coordinates"] = _coordinates(part)
            measurements = {"Area px^2": round(part.area, 3)}
            if um2 is not None:
                measurements["Area µm^2"] = round(part.area * um2, 3)
            if sums is not None:
                measurements["Mean probability"] = round(float(sums[label] / counts[label]), 4)
            feature["properties"]["measurements"] = measurements
            yield feature
    _check_area(code, polygon_area=area, pixels=pixels, scale=scale, min_area=min_area, simplify=simplify)


def _check_area(code: str, *, polygon_area: float, pixels: int, scale, min_area: float, simplify: float) -> None:
    expected = pixels * scale[0] * scale[1]
    if abs(polygon_area - expected) > AREA_TOLERANCE * expected:
        warnings.warn(
            f"GeoJSON {code}: the polygons cover {polygon_area:.6g} level-0 px^2 but the class map "
            f"{expected:.6g} ({polygon_area / expected - 1:+.1%}; min_area={min_area}, simplify={simplify}).",
            stacklevel=2,
        )


def _coordinates(polygon) -> list:
    """GeoJSON rings (closed, outline then holes) of a shapely Polygon."""
    rings = [polygon.exterior, *polygon.interiors]
    return [np.round(np.asarray(ring.coords), 3).tolist() for ring in rings]
