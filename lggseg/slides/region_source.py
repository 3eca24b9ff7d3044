"""Training data from slides: annotated regions as image + mask samples.

Each slide comes with its annotations: a QuPath GeoJSON export, or a label image (an
index or colour-coded PNG mask of the whole slide at a reduced size). The bounding boxes
of the annotated regions, at the chosen pyramid level, become samples: the slide pixels
of the box (only that region is read) and the rasterised classes. The samples then go
through the usual samplers and tile pipeline like any other source.

Unannotated pixels inside a box are labelled Background (BG), not ignored: QuPath users
outline the regions they care about, and the glass and unremarkable tissue around them
are what the model should call background. Keep boxes tight (``margin=0``) when the
surroundings are unlabelled tumour rather than background. Overlapping boxes are merged,
so no pixel is sampled twice; boxes smaller than a tile grow to ``tile_size`` (within
the slide) so that the tile sampler can cut from them; boxes larger than
``max_region_size`` are split into a grid of smaller samples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from lggseg.classes import LGG_4, ClassScheme
from lggseg.data.source import DataSource, Sample
from lggseg.slides.annotations import Annotation, rasterize_annotations, read_annotations
from lggseg.slides.reader import SlideReader

__all__ = ["SlideRegionSource"]

_GEOJSON_SUFFIXES = (".geojson", ".json")
_LABEL_SUFFIXES = (".png",)

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in level pixels, end exclusive


class SlideRegionSource(DataSource):
    """Annotated slide regions, read at one pyramid level, as samples.

    Args:
      slides: slide files (SVS, pyramidal TIFF).
      annotations: one per slide, in the same order: a QuPath GeoJSON (``.geojson`` /
        ``.json``) or a label image (``.png``; class indices, or colours of ``scheme``)
        covering the whole slide at any size (a level's size, or level 0 divided by a
        factor).
      level: the pyramid level the samples are read at.
      scheme: the classes of the annotations (GeoJSON class names match its codes).
      tile_size: boxes grow to at least this size so that training tiles fit.
      class_names: renames GeoJSON class names to scheme codes, e.g. ``{'Tumor': 'CT'}``.
      margin: level pixels added around each annotated region.
      max_region_size: boxes larger than this (level pixels) are split into a grid
        (at least ``2 * tile_size``).

    Attributes:
      regions: per sample, ``(slide path, level, (x0, y0, x1, y1))`` in level pixels.

    Raises:
      FileNotFoundError: naming a missing slide or annotation file.
      ValueError: naming the file, for unequal list lengths, unknown class names, an
        annotation with no regions, or a label image whose size fits no level.
    """

    def __init__(
        self,
        *,
        slides: Sequence[str | Path],
        annotations: Sequence[str | Path],
        level: int = 0,
        scheme: ClassScheme = LGG_4,
        tile_size: int = 256,
        class_names: Mapping[str, str] | None = None,
        margin: int = 0,
        max_region_size: int = 4096,
    ):
        slides = [Path(s) for s in ([slides] if isinstance(slides, (str, Path)) else slides)]
        annotations = [Path(a) for a in ([annotations] if isinstance(annotations, (str, Path)) else annotations)]
        if len(slides) != len(annotations) or not slides:
            raise ValueError(
                f"Give one annotation file per slide: got {len(slides)} slides and {len(annotations)} annotation files."
            )
        # Split boxes are at least half of max_region_size, so that must hold two tiles.
        if tile_size < 1 or margin < 0 or max_region_size < 2 * tile_size:
            raise ValueError(
                f"Need tile_size >= 1, margin >= 0 and max_region_size >= 2 * tile_size; got {tile_size}, {margin}, "
                f"{max_region_size}."
            )
        background = scheme.index("BG") if "bg" in [c.lower() for c in scheme.codes] else 0
        samples: list[Sample] = []
        self.regions: list[tuple[Path, int, Box]] = []
        for slide_path, ann_path in zip(slides, annotations):
            if not ann_path.is_file():
                raise FileNotFoundError(f"Annotation file {ann_path} (for slide {slide_path}) does not exist.")
            with SlideReader(slide_path) as reader:
                lvl = reader.check_level(level)
                lh, lw = reader.level_shape(lvl)
                scale = reader.level_scale(lvl)
                suffix = ann_path.suffix.lower()
                if suffix in _GEOJSON_SUFFIXES:
                    anns = read_annotations(ann_path, scheme=scheme, class_names=class_names)
                    raw = [_level_box(a.bounds, scale) for a in anns]
                    labeller = _GeoJSONLabeller(anns, scheme=scheme, scale=scale, background=background)
                elif suffix in _LABEL_SUFFIXES:
                    labeller = _LabelImageLabeller(ann_path, scheme=scheme, reader=reader, level=lvl,
                                                   background=background)
                    raw = labeller.boxes()
                else:
                    raise ValueError(
                        f"{ann_path}: unknown annotation format {suffix!r}; use QuPath GeoJSON "
                        f"({', '.join(_GEOJSON_SUFFIXES)}) or a label image ({', '.join(_LABEL_SUFFIXES)})."
                    )
                # Regions off the level are dropped before growing, which would pull them in.
                raw = [b for b in raw if b[0] < lw and b[1] < lh and b[2] > 0 and b[3] > 0]
                boxes = [_grow(b, margin=margin, size=tile_size, width=lw, height=lh) for b in raw]
                if not boxes:
                    raise ValueError(f"{ann_path}: no annotated region lies on slide {slide_path} at level {lvl}.")
                for box in _split(_merge(boxes), max_region_size):
                    x0, y0, x1, y1 = box
                    image = reader.read_region(x=x0, y=y0, width=x1 - x0, height=y1 - y0, level=lvl)
                    mask = labeller.mask(box)
                    name = f"{slide_path.stem}_L{lvl}_x{x0}_y{y0}"
                    samples.append(Sample(image=image, mask=mask, name=name, group=slide_path.stem))
                    self.regions.append((slide_path, lvl, box))
        super().__init__(samples=samples, scheme=scheme)


class _GeoJSONLabeller:
    def __init__(self, annotations: list[Annotation], *, scheme: ClassScheme, scale, background: int):
        self.annotations, self.scheme, self.scale, self.background = annotations, scheme, scale, background

    def mask(self, box: Box) -> np.ndarray:
        x0, y0, x1, y1 = box
        return rasterize_annotations(
            self.annotations, scheme=self.scheme, x=x0, y=y0, width=x1 - x0, height=y1 - y0,
            scale=self.scale, background=self.background,
        )


class _LabelImageLabeller:
    """A whole-slide label image at reduced size; regions are its non-background components."""

    def __init__(self, path: Path, *, scheme: ClassScheme, reader: SlideReader, level: int, background: int):
        from lggseg.data.io import read_mask

        self.labels = read_mask(path, scheme=scheme)
        self.background = background
        w0, h0 = reader.level_dimensions[0]
        lh, lw = self.labels.shape
        # Label pixel -> level-0 pixels; the label image must be the slide shrunk evenly.
        self.fx, self.fy = w0 / lw, h0 / lh
        # Rounding the shrunk size costs up to a label pixel per side, hence the size term.
        if abs(self.fx - self.fy) / max(self.fx, self.fy) > 0.01 + 2.0 / min(lw, lh):
            raise ValueError(
                f"{path}: the label image is {lw}x{lh}, which is not the slide ({w0}x{h0}) shrunk by one factor; "
                f"save it at one of the level sizes {', '.join(f'{w}x{h}' for w, h in reader.level_dimensions)}."
            )
        self.sx, self.sy = reader.level_scale(level)

    def boxes(self) -> list[Box]:
        import cv2

        n, _, stats, _ = cv2.connectedComponentsWithStats((self.labels != self.background).astype(np.uint8), 8)
        out = []
        for x, y, w, h, _ in stats[1:n]:
            out.append(_level_box((x * self.fx, y * self.fy, (x + w) * self.fx, (y + h) * self.fy), (self.sx, self.sy)))
        return out

    def mask(self, box: Box) -> np.ndarray:
        x0, y0, x1, y1 = box
        # Level pixel centres -> label pixels, nearest neighbour (classes are not averaged).
        ys = ((np.arange(y0, y1) + 0.5) * self.sy / self.fy).astype(np.int64)
        xs = ((np.arange(x0, x1) + 0.5) * self.sx / self.fx).astype(np.int64)
        ys = np.clip(ys, 0, self.labels.shape[0] - 1)
        xs = np.clip(xs, 0, self.labels.shape[1] - 1)
        return self.labels[np.ix_(ys, xs)]


def _level_box(bounds: tuple[float, float, float, float], scale: tuple[float, float]) -> Box:
    x0, y0, x1, y1 = bounds
    sx, sy = scale
    return math.floor(x0 / sx), math.floor(y0 / sy), math.ceil(x1 / sx), math.ceil(y1 / sy)


def _grow(box: Box, *, margin: int, size: int, width: int, height: int) -> Box:
    """Add the margin, grow to at least ``size`` around the centre, keep inside the level."""
    x0, y0, x1, y1 = box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin
    x0, x1 = _fit(x0, x1, size, width)
    y0, y1 = _fit(y0, y1, size, height)
    return x0, y0, x1, y1


def _fit(a: int, b: int, size: int, limit: int) -> tuple[int, int]:
    if b - a < size:
        extra = size - (b - a)
        a, b = a - extra // 2, b + extra - extra // 2
    # Shift back inside rather than clip, so the box keeps its size where the level allows.
    if a < 0:
        a, b = 0, b - a
    if b > limit:
        a, b = a - (b - limit), limit
    return max(a, 0), min(b, limit)


def _merge(boxes: list[Box]) -> list[Box]:
    """Union overlapping boxes until none overlap (so no pixel is sampled twice)."""
    boxes = sorted(boxes)
    changed = True
    while changed:
        changed = False
        out: list[Box] = []
        for b in boxes:
            for i, o in enumerate(out):
                if b[0] < o[2] and o[0] < b[2] and b[1] < o[3] and o[1] < b[3]:
                    out[i] = (min(o[0], b[0]), min(o[1], b[1]), max(o[2], b[2]), max(o[3], b[3]))
                    changed = True
                    break
            else:
                out.append(b)
        boxes = sorted(out)
    return boxes


def _split(boxes: list[Box], max_size: int) -> list[Box]:
    out = []
    for x0, y0, x1, y1 in boxes:
        nx, ny = math.ceil((x1 - x0) / max_size), math.ceil((y1 - y0) / max_size)
        xs = np.linspace(x0, x1, nx + 1).round().astype(int)
        ys = np.linspace(y0, y1, ny + 1).round().astype(int)
        out.extend((int(xs[i]), int(ys[j]), int(xs[i + 1]), int(ys[j + 1])) for j in range(ny) for i in range(nx))
    return out
