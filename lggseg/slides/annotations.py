"""Slide annotations as QuPath exports them (GeoJSON), read and rasterised at any level.

QuPath's "Export objects as GeoJSON" writes a FeatureCollection (or, in older versions,
a JSON list of Features) whose geometries are Polygons or MultiPolygons in level-0 pixel
coordinates, each ring a list of ``[x, y]``, the first ring the outline and the others
holes; the class is ``properties.classification.name``. Rasterising follows the pixel
convention of QuPath and OpenSlide: pixel ``(i, j)`` covers ``[i, i + 1) x [j, j + 1)``,
so a pixel is inside when its centre is.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from lggseg.classes import ClassScheme

__all__ = ["Annotation", "read_annotations", "rasterize_annotations"]

# cv2.fillPoly's fixed-point bits: polygons keep 1/16-pixel precision after scaling.
_SHIFT = 4


@dataclasses.dataclass(frozen=True)
class Annotation:
    """One classified annotation.

    Attributes:
      code: its class code in the scheme.
      polygons: each polygon a list of rings, ``(N, 2)`` float64 level-0 ``(x, y)``;
        the first ring is the outline, the others holes.
    """

    code: str
    polygons: tuple[tuple[np.ndarray, ...], ...]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` in level-0 pixels."""
        pts = np.concatenate([p[0] for p in self.polygons])
        return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())

    @property
    def area(self) -> float:
        """Area in level-0 pixels (outlines minus holes, shoelace formula)."""
        return float(sum(_shoelace(p[0]) - sum(_shoelace(h) for h in p[1:]) for p in self.polygons))


def read_annotations(
    path: str | Path,
    *,
    scheme: ClassScheme,
    class_names: Mapping[str, str] | None = None,
) -> list[Annotation]:
    """Read the classified (Multi)Polygon annotations of a QuPath GeoJSON file.

    Args:
      path: a ``.geojson`` / ``.json`` file: a FeatureCollection, a Feature, a list of
        Features or a bare geometry collection.
      scheme: the classes; names are matched to its codes case-insensitively.
      class_names: renames annotation class names to scheme codes first, e.g.
        ``{'Tumor': 'CT', 'Stroma': 'BG'}``.

    Returns:
      One :class:`Annotation` per classified Polygon / MultiPolygon feature. Features
      without a class, or with a point or line geometry (no area), are skipped with a
      warning that counts them.

    Raises:
      FileNotFoundError: when ``path`` does not exist.
      ValueError: naming the file, for invalid JSON or geometry, or a class name that
        is neither in ``class_names`` nor in the scheme (the valid codes are listed).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Annotation file {path} does not exist.")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    renames = {k.lower(): v for k, v in (class_names or {}).items()}
    found: list[Annotation] = []
    skipped: dict[str, int] = {}
    for index, feature in enumerate(_features(data, path)):
        geometry = feature.get("geometry") or {}
        props = feature.get("properties") or {}
        classification = props.get("classification") or {}
        name = classification.get("name") if isinstance(classification, dict) else None
        if not name:
            skipped["without a classification"] = skipped.get("without a classification", 0) + 1
            continue
        polygons = _polygons(geometry, path=path, index=index)
        if not polygons:
            kind = f"{geometry.get('type', 'no')} geometry (no area)"
            skipped[kind] = skipped.get(kind, 0) + 1
            continue
        code = renames.get(str(name).lower(), str(name))
        try:
            code = scheme.codes[scheme.index(code)]
        except ValueError:
            raise ValueError(
                f"{path}: feature {index} has class {name!r}, which is not one of {', '.join(scheme.codes)}; "
                f"map it with class_names={{'{name}': CODE}}."
            ) from None
        found.append(Annotation(code=code, polygons=tuple(polygons)))
    if skipped:
        warnings.warn(
            f"{path}: skipped " + ", ".join(f"{n} feature(s) {why}" for why, n in skipped.items()) + ".",
            stacklevel=2,
        )
    return found


def rasterize_annotations(
    annotations: Sequence[Annotation],
    *,
    scheme: ClassScheme,
    x: int,
    y: int,
    width: int,
    height: int,
    scale: tuple[float, float] = (1.0, 1.0),
    background: int = 0,
) -> np.ndarray:
    """Class mask of a rectangle of a level, from level-0 annotations.

    Larger annotations are drawn first, so an annotation drawn inside another (a small
    LE region inside a CT outline) wins where they overlap; holes leave what was
    underneath. A pixel is inside a ring when its centre is, except that cv2 also fills
    the pixels an edge passes through, so rings may gain up to one pixel along their
    edges (an outline grows, a hole grows by the same pixel-wide border). Unannotated pixels get ``background``.

    Args:
      annotations: from :func:`read_annotations`.
      scheme: the classes the codes index into.
      x, y, width, height: the rectangle, in pixels of the level.
      scale: level-0 pixels per level pixel along ``(x, y)``.
      background: class index of unannotated pixels.

    Returns:
      ``(height, width)`` uint8 class indices.
    """
    mask = np.full((height, width), background, dtype=np.uint8)
    sx, sy = scale
    for ann in sorted(annotations, key=lambda a: -a.area):
        x0, y0, x1, y1 = ann.bounds
        if x1 / sx < x or x0 / sx > x + width or y1 / sy < y or y0 / sy > y + height:
            continue
        inside = np.zeros((height, width), dtype=bool)
        for polygon in ann.polygons:
            # Each ring on its own: cv2 also fills the pixels its edges cross, so filling
            # outline and holes together would shrink the holes by their edge pixels.
            rings = [_fill(ring, x=x, y=y, sx=sx, sy=sy, shape=(height, width)) for ring in polygon]
            outline = rings[0]
            for hole in rings[1:]:
                outline &= ~hole
            inside |= outline
        mask[inside] = scheme.index(ann.code)
    return mask


def _fill(ring: np.ndarray, *, x: int, y: int, sx: float, sy: float, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    # Level-0 -> level pixels; pixel centres sit on integers for cv2, hence the half pixel.
    pts = np.stack([ring[:, 0] / sx - 0.5 - x, ring[:, 1] / sy - 0.5 - y], axis=1)
    out = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(out, [np.round(pts * (1 << _SHIFT)).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=_SHIFT)
    return out.astype(bool)


def _features(data, path: Path) -> list[dict]:
    if isinstance(data, list):
        return [f for item in data for f in _features(item, path)]
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected GeoJSON objects, found {type(data).__name__}.")
    kind = data.get("type")
    if kind == "FeatureCollection":
        return list(data.get("features") or [])
    if kind == "Feature":
        return [data]
    if kind in ("Polygon", "MultiPolygon", "GeometryCollection"):
        raise ValueError(f"{path}: a bare {kind} has no class; export the annotations as Features from QuPath.")
    raise ValueError(f"{path}: not GeoJSON (type {kind!r}); expected a FeatureCollection or Features.")


def _polygons(geometry: dict, *, path: Path, index: int) -> list[tuple[np.ndarray, ...]]:
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    try:
        if kind == "Polygon":
            return [_rings(coords)]
        if kind == "MultiPolygon":
            return [_rings(p) for p in coords]
        if kind == "GeometryCollection":
            return [p for g in geometry.get("geometries", []) for p in _polygons(g, path=path, index=index)]
    except (TypeError, ValueError, IndexError) as err:
        raise ValueError(f"{path}: feature {index} has an invalid {kind}: {err}") from err
    return []


def _rings(polygon) -> tuple[np.ndarray, ...]:
    rings = tuple(np.asarray(r, dtype=np.float64)[:, :2] for r in polygon)
    if not rings or any(len(r) < 3 for r in rings):
        raise ValueError("every ring needs at least 3 positions")
    return rings


def _shoelace(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
