"""Class maps -> GeoJSON polygons with holes, one feature per class, that QuPath imports.

Each class's region is traced with ``cv2.findContours`` in ``RETR_CCOMP`` mode, a
two-level hierarchy of outer boundaries and the holes inside them; an outer boundary
and its holes become one GeoJSON Polygon, all of a class's polygons one MultiPolygon.
Coordinates are level-0 slide pixels (QuPath's image coordinates): the contour runs
through the centres of the boundary pixels, so a point ``(i, j)`` of a map whose pixels
are ``scale`` level-0 pixels wide maps to ``((i + 0.5) * scale, (j + 0.5) * scale)``.
The properties follow QuPath's GeoJSON export (``objectType: annotation``, a
``classification`` with ``name`` and ``color``), so File > Import objects brings the
polygons in as classified annotations.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from lggseg.classes import ClassScheme

__all__ = ["class_map_features", "write_class_map_geojson", "write_geojson"]


def class_map_features(
    class_map: np.ndarray,
    *,
    scheme: ClassScheme,
    scale: tuple[float, float] = (1.0, 1.0),
    skip: tuple[str, ...] = ("BG",),
    min_area: float = 4.0,
    despeckle: bool = True,
) -> Iterator[dict]:
    """GeoJSON Features (MultiPolygon) for each class present in a uint8 class map.

    Args:
      class_map: ``(H, W)`` uint8 class indices.
      scheme: names and colours of the classes.
      scale: level-0 pixels per map pixel along ``(x, y)``.
      skip: class codes not exported (background is not an annotation).
      min_area: outer contours smaller than this many map pixels (shoelace area) are
        dropped, with their holes; single pixels and one-pixel lines, which have no
        area as polygons, are always dropped.
      despeckle: open each class's mask with a 3x3 square first, so that specks and
        one-pixel threads (which would each become a polygon) are not traced; the
        per-class areas are counted on the full class map, not on these polygons.

    Yields:
      One Feature per exported class present, in class order (a generator, so that only
      one class's polygons are in memory at a time).
    """
    for index, code, colour in _exported(class_map, scheme=scheme, skip=skip):
        polygons = [[ring.tolist() for ring in rings]
                    for rings in _polygons(class_map, index, scale=scale, min_area=min_area, despeckle=despeckle)]
        if polygons:
            feature = _feature_shell(code, colour)
            feature["geometry"]["coordinates"] = polygons
            yield feature


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
    min_area: float = 4.0,
    despeckle: bool = True,
) -> Path:
    """:func:`class_map_features` written straight to a file, one polygon at a time.

    The same FeatureCollection as ``write_geojson(path, class_map_features(...))``, but
    a class's polygons are serialised as they are traced, so a large, fragmented class
    never exists as one Python object.
    """
    path = Path(path)
    with path.open("w") as f:
        f.write('{"type": "FeatureCollection", "features": [')
        written = 0
        for index, code, colour in _exported(class_map, scheme=scheme, skip=skip):
            polygons = _polygons(class_map, index, scale=scale, min_area=min_area, despeckle=despeckle)
            first = next(polygons, None)
            if first is None:
                continue
            shell = json.dumps(_feature_shell(code, colour))
            # The shell's empty coordinate list is where the polygons go.
            head, tail = shell.split('"coordinates": []', 1)
            f.write((",\n" if written else "\n") + head + '"coordinates": [')
            for i, rings in enumerate(itertools.chain([first], polygons)):
                # Ring by ring: one polygon of a fragmented class can hold many holes.
                f.write((", [" if i else "[") + ", ".join(json.dumps(ring.tolist()) for ring in rings) + "]")
            f.write("]" + tail)
            written += 1
        f.write("\n]}\n")
    return path


def _exported(class_map: np.ndarray, *, scheme: ClassScheme, skip: tuple[str, ...]):
    class_map = np.asarray(class_map)
    if class_map.ndim != 2 or class_map.dtype != np.uint8:
        raise ValueError(f"Expected a uint8 class map (H, W), got {class_map.shape} {class_map.dtype}.")
    skipped = {c.lower() for c in skip}
    for index, (code, colour) in enumerate(zip(scheme.codes, scheme.colours)):
        if code.lower() not in skipped:
            yield index, code, colour


def _feature_shell(code: str, colour) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "MultiPolygon", "coordinates": []},
        "properties": {
            "objectType": "annotation",
            "name": code,
            "classification": {"name": code, "color": [int(v) for v in colour]},
        },
    }


def _polygons(class_map: np.ndarray, index: int, *, scale, min_area: float, despeckle: bool):
    """Each polygon of class ``index`` as closed ``(N, 2)`` rings (outline, then holes)."""
    import cv2

    sx, sy = scale
    binary = (class_map == index).astype(np.uint8)
    if despeckle:
        binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    if not binary.any():
        return
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    del binary
    if hierarchy is None:
        return
    hierarchy = hierarchy[0]
    for i, contour in enumerate(contours):
        if hierarchy[i][3] != -1:
            continue  # a hole; added to its parent below
        if len(contour) < 3 or cv2.contourArea(contour) < max(min_area, 1e-9):
            continue
        rings = [_ring(contour, sx, sy)]
        child = hierarchy[i][2]
        while child != -1:
            if len(contours[child]) >= 3 and cv2.contourArea(contours[child]) > 0:
                rings.append(_ring(contours[child], sx, sy))
            child = hierarchy[child][0]
        yield rings


def _ring(contour: np.ndarray, sx: float, sy: float) -> np.ndarray:
    pts = contour.reshape(-1, 2).astype(np.float64)
    pts[:, 0] = (pts[:, 0] + 0.5) * sx
    pts[:, 1] = (pts[:, 1] + 0.5) * sy
    return np.round(np.concatenate([pts, pts[:1]]), 2)  # GeoJSON rings are closed
