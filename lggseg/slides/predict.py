"""Whole-slide prediction in bounded memory: tissue tiles -> model -> blended class map.

The pipeline:

1. open the slide (:class:`~lggseg.slides.reader.SlideReader`) and choose the processing
   level (``level``, or the level nearest ``mpp`` microns per pixel);
2. find tissue and ink on a thumbnail (:class:`~lggseg.evaluation.prediction_mask.PredictionMask`:
   the HSV or Otsu tissue rule, marker ink) and keep the tiles of the sliding-window grid
   that touch tissue that is not ink;
3. read those tiles in raster order, a row run per batch, normalise their stain with the
   slide's one estimate (:func:`estimate_slide_stain`), run them through :meth:`SlidingWindowPredictor.predict_tiles` (the same model call, TTA
   and Gaussian window as whole-image prediction) and blend them with a
   :class:`~lggseg.slides.band_blender.BandBlender`, which hands back finished rows as
   uint8 classes and keeps only one band of partial sums; the rows' pixels that the
   thumbnail calls glass or ink become Background (the same mask as image prediction);
4. stream those rows into a tiled pyramidal TIFF (palette colour: class indices shown in
   the classes' colours) while counting class pixels and keeping a subsampled overview,
   from which the colour preview PNG and the GeoJSON polygons are made. With
   ``probabilities=True`` the blended probabilities stream at the same time into one
   greyscale pyramid per class (:mod:`lggseg.slides.fan_out` feeds every file from the
   one pass of the model).

Nothing holds the whole slide. Peak memory is the model's runtime plus pieces of fixed
size (the tissue thumbnail, at most 2048 pixels a side; the stain sample, at most 2048^2
pixels and the normaliser's work on it; the overview, at most
``overview_size``; a batch of tiles) plus pieces proportional to the slide's *width*
(the band's carry, ``(tile - stride) x (classes + 1)`` float32 per column, 1.3 KB for
256-pixel tiles at 25 % overlap and 4 classes, and a few uint8 rows: with probabilities,
``classes`` more bytes per pixel of a band and of each writer's queue), never to its area
(``benchmarks/wsi.py`` measures it). With
``tissue_only=False`` and ``mask=None`` every tile is predicted and the class map equals
``SlidingWindowPredictor.predict`` on the level read as one image.

Stain normalisation follows the one policy of :mod:`lggseg.stain.source_stain`, with the
processing level as the image (:func:`estimate_slide_stain`, :func:`slide_tiles`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lggseg.atomic_write import atomic_write
from lggseg.classes import LGG_4, ClassScheme
from lggseg.evaluation.prediction_mask import Excluded, PredictionMask
from lggseg.slides.band_blender import BandBlender
from lggseg.slides.fan_out import fan_out
from lggseg.slides.geojson_export import FEATURE_LAYOUTS, write_class_map_geojson
from lggseg.slides.pyramid_writer import write_label_pyramid
from lggseg.slides.reader import SlideReader
from lggseg.slides.slide_tiles import estimate_slide_stain, slide_tiles

if TYPE_CHECKING:
    from lggseg.stain import SourceStain

__all__ = ["SlideResult", "estimate_slide_stain", "predict_slide", "slide_tiles"]

ProgressCallback = Callable[[int, int], None]


@dataclasses.dataclass(frozen=True)
class SlideResult:
    """What :func:`predict_slide` wrote and measured.

    Attributes:
      slide: the input slide.
      level: the processing level; ``downsample`` its level-0 pixels per pixel.
      resampled_from: for a level added at the wanted resolution (no stored level had it),
        the stored level it was resampled from; ``None`` for a stored level.
      mpp: microns per pixel ``(x, y)`` at the processing level, or ``None``.
      shape: ``(height, width)`` of the class map (the processing level).
      class_map: the pyramidal TIFF of class indices (``<stem>_classes.tif``), palette
        colour with the scheme's colours, its description a JSON list of the classes.
      preview: the colourised, downsampled PNG (``<stem>_classes.png``).
      areas_json: per-class areas (``<stem>_areas.json``).
      geojson: per-class polygons in level-0 coordinates (``<stem>_classes.geojson``).
      areas: class code -> area in ``area_unit`` (``'mm2'`` when the resolution is known,
        else ``'pixels'`` of the processing level).
      pixels: class code -> pixel count at the processing level.
      tiles_predicted, tiles_total: tissue tiles run through the model, of the whole grid.
      excluded: pixels of the processing level left to Background by the mask, as
        ``{'non_tissue': n, 'ink': n}`` (zeros without a mask).
      seconds: wall time of the prediction and all outputs.
      blend_buffer_mb: peak size of the blending buffers (the band and its carry).
      pyramid_levels: ``(height, width)`` of each level of the class-map TIFF.
      stain: the slide's stain estimate every tile was normalised with, or ``None``
        without a normaliser.
      probability_maps: with ``probabilities``, one pyramidal greyscale TIFF per class in
        index order (``<stem>_prob_<CODE>.tif``, uint8 ``round(p * 255)``, the class
        map's levels); else empty.
    """

    slide: Path
    level: int
    downsample: float
    mpp: tuple[float, float] | None
    shape: tuple[int, int]
    class_map: Path
    preview: Path
    areas_json: Path
    geojson: Path
    areas: dict[str, float]
    area_unit: str
    pixels: dict[str, int]
    tiles_predicted: int
    tiles_total: int
    seconds: float
    blend_buffer_mb: float
    pyramid_levels: list[tuple[int, int]]
    stain: SourceStain | None = None
    probability_maps: tuple[Path, ...] = ()
    excluded: dict[str, int] = dataclasses.field(default_factory=lambda: {"non_tissue": 0, "ink": 0})
    resampled_from: int | None = None

    @property
    def megapixels_per_second(self) -> float:
        return self.shape[0] * self.shape[1] / 1e6 / max(self.seconds, 1e-9)


def predict_slide(
    *,
    model: Any,
    slide_path: str | Path,
    out_dir: str | Path,
    level: int = 0,
    mpp: float | None = None,
    tile_size: int | None = 256,
    overlap: float = 0.25,
    batch_size: int = 8,
    normalizer: Any = None,
    scheme: ClassScheme = LGG_4,
    tissue_level: int | None = None,
    progress: ProgressCallback | None = None,
    tta: bool = False,
    tissue_only: bool = True,
    mask: PredictionMask | None = PredictionMask(),
    overview_size: int = 2048,
    preview_size: int = 2048,
    probabilities: bool = False,
    geojson_features: str = "class",
) -> SlideResult:
    """Segment a whole-slide image tile by tile and write its class map and summaries.

    Args:
      model: a Keras model, float32 ``(B, h, w, 3)`` in [0, 1] -> softmax ``(B, h, w, C)``.
      slide_path: an SVS / NDPI / tiled pyramidal TIFF.
      out_dir: the output folder (created).
      level: the pyramid level to predict at (0 = full resolution).
      mpp: instead of ``level``: this many microns per pixel (the slide must record its
        resolution): a stored level within 10 % of it, else the nearest finer level resampled
        to it (:meth:`SlideReader.level_at_mpp`). The result records the mpp it used and, for
        a resampled level, the stored level it was read from.
      tile_size: model tile side (``None``: the model's fixed input size, else 256).
      overlap: fraction of a tile shared with its neighbour, in [0, 1).
      batch_size: tiles per model call.
      normalizer: a fitted stain normaliser, or ``None``.
      scheme: the model's output classes (names, colours for the PNG and GeoJSON).
      tissue_level: level to detect tissue on (``None``: the coarsest level at most 2048
        pixels on its longer side, else a thumbnail of the finest level above that).
      progress: called as ``progress(tiles_done, tiles_total)`` after each batch.
      tta: test-time augmentation over the 8 flips/rotations (8x the compute).
      tissue_only: predict only tiles touching tissue that is not ink (others are
        background); ``False`` predicts every tile.
      mask: which pixels become Background whatever the model says (glass, ink), found on
        the tissue thumbnail; ``None``: none (and tiles are chosen by the HSV rule).
      overview_size: longer side bound of the overview the GeoJSON is traced on (2048:
        vertices every 10 level-0 pixels of a 20,000-pixel slide; bounded tracing memory).
      preview_size: longer side bound of the PNG preview.
      probabilities: also write each class's blended probability as a pyramid
        (``<stem>_prob_<CODE>.tif``, uint8 ``round(p * 255)``; pixels no tile covered are
        255 for background), streamed with the class map in the same bounded memory.
      geojson_features: ``'class'`` (one MultiPolygon annotation per class) or
        ``'region'`` (one annotation per connected region, with its area), see
        :func:`lggseg.slides.write_class_map_geojson`.

    Returns:
      A :class:`SlideResult`.

    Raises:
      FileNotFoundError: when the slide does not exist.
      ValueError: naming the slide and the valid choices, for a bad level or mpp, an
        mpp on a slide without resolution, or a scheme that does not match the model.
    """
    started = time.perf_counter()
    if geojson_features not in FEATURE_LAYOUTS:  # checked now, not after the prediction
        raise ValueError(f"geojson_features={geojson_features!r}; choose one of {', '.join(FEATURE_LAYOUTS)}.")
    slide_path, out_dir = Path(slide_path), Path(out_dir)
    reader = SlideReader(slide_path)
    try:
        level = _resolve_level(reader, level=level, mpp=mpp)
        predictor = _predictor(model, tile_size=tile_size, overlap=overlap, batch_size=batch_size, tta=tta,
                               scheme=scheme)
        height, width = reader.level_shape(level)
        t = predictor.tile_size
        excluded = _thumbnail_exclusion(reader, level=level, tissue_level=tissue_level, mask=mask)
        ys, xs, tiles, blender = _plan(reader, predictor, level=level, scheme=scheme, tissue_only=tissue_only,
                                       excluded=excluded, probabilities=probabilities)
        stain = estimate_slide_stain(reader, level=level, normalizer=normalizer)
        factor = max(1, math.ceil(max(height, width) / overview_size))
        stats = _RowStats(num_classes=scheme.num_classes, height=height, width=width, factor=factor)

        blocks = _predicted_rows(
            reader, level=level, height=height, width=width, ys=ys, tiles=tiles, predictor=predictor,
            normalizer=normalizer, stain=stain, blender=blender, batch_size=predictor.batch_size, progress=progress,
        )
        masked = _MaskedRows(excluded if mask is not None and mask.active else None, width=width,
                             background=mask.background(scheme) if mask is not None else 0)
        blocks = masked.apply(blocks, probabilities=probabilities)

        out_dir.mkdir(parents=True, exist_ok=True)
        stem = slide_path.stem
        level_mpp = reader.level_mpp(level)
        class_map = out_dir / f"{stem}_classes.tif"
        probability_maps = _probability_paths(out_dir, stem=stem, scheme=scheme) if probabilities else ()
        pyramid = _write_pyramids(blocks, stats=stats, class_map=class_map, probability_maps=probability_maps,
                                  scheme=scheme, height=height, width=width, mpp=level_mpp)

        preview = _write_preview(out_dir / f"{stem}_classes.png", stats.overview(), scheme=scheme,
                                 max_size=preview_size)
        sx, sy = reader.level_scale(level)
        geojson = write_class_map_geojson(
            out_dir / f"{stem}_classes.geojson", stats.overview(), scheme=scheme, scale=(sx * factor, sy * factor),
            features=geojson_features, mpp=reader.mpp,  # no probability map is kept for the measurements
        )
        pixels = {code: int(n) for code, n in zip(scheme.codes, stats.counts)}
        areas, unit = _areas(pixels, level_mpp)
        seconds = time.perf_counter() - started
        areas_json = _write_areas(out_dir / f"{stem}_areas.json", {
            "slide": str(slide_path), "level": level, "resampled_from_level": reader.resampled_from(level),
            "downsample": reader.level_downsamples[level],
            "mpp": list(level_mpp) if level_mpp else None, "shape": [height, width], "unit": unit,
            "areas": areas, "pixels": pixels, "fractions": {c: n / max(height * width, 1) for c, n in pixels.items()},
            "tiles_predicted": len(tiles), "tiles_total": len(ys) * len(xs), "tile_size": t, "overlap": overlap,
            "excluded_pixels": masked.counts,
            "mask": dataclasses.asdict(mask) if mask is not None else None,
            "seconds": seconds,
        })
        return SlideResult(
            slide=slide_path, level=level, resampled_from=reader.resampled_from(level),
            downsample=reader.level_downsamples[level], mpp=level_mpp,
            shape=(height, width), class_map=class_map, preview=preview, areas_json=areas_json,
            geojson=geojson, areas=areas, area_unit=unit, pixels=pixels, tiles_predicted=len(tiles),
            tiles_total=len(ys) * len(xs), seconds=seconds, excluded=masked.counts,
            blend_buffer_mb=blender.peak_floats * 4 / 2**20, pyramid_levels=pyramid, stain=stain,
            probability_maps=probability_maps,
        )
    finally:
        reader.close()


def _predictor(model: Any, *, tile_size: int | None, overlap: float, batch_size: int, tta: bool,
               scheme: ClassScheme):
    """The sliding-window predictor of the slide's tiles, checked against the classes."""
    from lggseg.evaluation.sliding_window import SlidingWindowPredictor

    predictor = SlidingWindowPredictor(model=model, tile_size=tile_size, overlap=overlap, batch_size=batch_size,
                                       tta=tta)
    if predictor.num_classes != scheme.num_classes:
        raise ValueError(
            f"The model outputs {predictor.num_classes} classes but the scheme has {scheme.num_classes} "
            f"({', '.join(scheme.codes)}); pass the model's scheme."
        )
    return predictor


def _write_pyramids(blocks: Iterator, *, stats: "_RowStats", class_map: Path, probability_maps: tuple[Path, ...],
                    scheme: ClassScheme, height: int, width: int,
                    mpp: tuple[float, float] | None) -> list[tuple[int, int]]:
    """Stream the predicted rows into the class-map pyramid (and one pyramid per class's
    probability) in one pass, counting them into ``stats``; returns the class map's levels."""
    write = partial(_pyramid_writer, height=height, width=width, mpp=mpp)
    writers = [write(class_map, palette=scheme.palette_array(), description=_classes_json(scheme))]
    writers += [write(path, description=_classes_json(scheme, only=c)) for c, path in enumerate(probability_maps)]
    pyramid, *_ = fan_out(_parts(blocks, stats=stats, probabilities=bool(probability_maps)), consumers=writers)
    return pyramid


def _write_areas(path: Path, summary: dict[str, Any]) -> Path:
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    return path


def _background_index(scheme: ClassScheme) -> int:
    """Where pixels no tile covers go: the scheme's Background, else class 0."""
    index = scheme.background_index
    return 0 if index is None else index


@dataclasses.dataclass(frozen=True)
class _ThumbnailExclusion:
    """What the mask excludes on the tissue thumbnail, and the scale from the processing level to it."""

    excluded: Excluded
    fx: float  # thumbnail pixels per processing-level pixel, along x
    fy: float

    def rows(self, y0: int, y1: int, width: int) -> Excluded:
        """The exclusion of processing-level rows ``y0..y1-1`` (all ``width`` columns), nearest neighbour."""
        th, tw = self.excluded.non_tissue.shape
        rows = np.minimum((np.arange(y0, y1) * self.fy).astype(np.int64), th - 1)
        cols = np.minimum((np.arange(width) * self.fx).astype(np.int64), tw - 1)
        return self.excluded.at(rows, cols)


def _thumbnail_exclusion(reader: SlideReader, *, level: int, tissue_level: int | None,
                         mask: PredictionMask | None) -> _ThumbnailExclusion:
    """Find glass and ink on the tissue thumbnail (the HSV rule alone without a mask)."""
    if tissue_level is None:
        thumb, tl, shrink = reader.thumbnail(max_size=2048)
    else:
        thumb, tl, shrink = reader.thumbnail(level=reader.check_level(tissue_level), max_size=8192)
    excluded = (mask or PredictionMask(ink=False)).excluded(thumb)
    px, py = reader.level_scale(level)
    tx, ty = reader.level_scale(tl)
    return _ThumbnailExclusion(excluded=excluded, fx=px / (tx * shrink), fy=py / (ty * shrink))


def _tissue_tiles(exclusion: _ThumbnailExclusion, *, ys: list[int], xs: list[int],
                  tile: int) -> list[tuple[int, int]]:
    """``(tile row index, x)`` of the grid tiles whose footprint holds any tissue that is not ink."""
    tissue = ~exclusion.excluded.any
    fx, fy = exclusion.fx, exclusion.fy
    # int32 holds the count of a thumbnail (at most a few million pixels).
    integral = np.pad(np.cumsum(np.cumsum(tissue, axis=0, dtype=np.int32), axis=1), ((1, 0), (1, 0)))
    th, tw = tissue.shape
    chosen = []
    for k, y in enumerate(ys):
        y0, y1 = min(int(y * fy), th - 1), min(max(math.ceil((y + tile) * fy), int(y * fy) + 1), th)
        for x in xs:
            x0, x1 = min(int(x * fx), tw - 1), min(max(math.ceil((x + tile) * fx), int(x * fx) + 1), tw)
            count = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
            if count > 0:
                chosen.append((k, x))
    return chosen


class _MaskedRows:
    """Applies the thumbnail's exclusion to the stream of finished rows, counting what it excluded."""

    def __init__(self, exclusion: _ThumbnailExclusion | None, *, width: int, background: int):
        self.exclusion, self.width, self.background = exclusion, width, background
        self.counts = {"non_tissue": 0, "ink": 0}

    def apply(self, blocks: Iterator, *, probabilities: bool) -> Iterator:
        if self.exclusion is None:
            yield from blocks
            return
        y = 0
        for block in blocks:
            classes, probs = block if probabilities else (block, None)
            excluded = self.exclusion.rows(y, y + classes.shape[0], self.width)
            y += classes.shape[0]
            for reason, n in excluded.counts().items():
                self.counts[reason] += n
            classes = PredictionMask.apply(classes, excluded, background=self.background)
            if probs is None:
                yield classes
            else:
                yield classes, PredictionMask.apply_to_probabilities(probs, excluded, background=self.background)


def _plan(reader: SlideReader, predictor, *, level: int, scheme: ClassScheme, tissue_only: bool,
          excluded: "_ThumbnailExclusion",
          probabilities: bool) -> tuple[list[int], list[int], list[tuple[int, int]], BandBlender]:
    """The tile grid's row and column origins, the tiles to predict in blending order, the blender."""
    height, width = reader.level_shape(level)
    t = predictor.tile_size
    # Levels smaller than a tile are reflect-padded, as SlidingWindowPredictor pads images.
    ph, pw = max(height, t), max(width, t)
    # The grid's rows and columns, from one column and one row of it (the full list of
    # origins would grow with the slide's area).
    ys = [y for y, _ in predictor.tile_origins(ph, t)]
    xs = [x for _, x in predictor.tile_origins(t, pw)]

    if tissue_only:
        tiles = _tissue_tiles(excluded, ys=ys, xs=xs, tile=t)
    else:
        tiles = [(k, x) for k in range(len(ys)) for x in xs]
    background = _background_index(scheme)
    blender = BandBlender(
        height=ph, width=pw, row_origins=ys, tile_size=t, stride=predictor.stride, window=predictor.window,
        num_classes=predictor.num_classes, background=background, out_height=height, out_width=width,
        probabilities=probabilities,
    )
    # Raster order, except the last two tile rows, which go column by column together.
    return ys, xs, blender.order(tiles), blender


def _resolve_level(reader: SlideReader, *, level: int, mpp: float | None) -> int:
    """The level to predict at: ``level``, or one at ``mpp`` (resampled when none is stored); checked."""
    if mpp is not None:
        if level != 0:
            raise ValueError(f"Give either level ({level}) or mpp ({mpp}), not both.")
        level = reader.level_at_mpp(mpp)
    return reader.check_level(level)


def _areas(pixels: dict[str, int], level_mpp: tuple[float, float] | None) -> tuple[dict[str, float], str]:
    """Class areas in mm² when the level's resolution is known, else in pixels; and the unit."""
    if level_mpp is not None:
        pixel_mm2 = level_mpp[0] * level_mpp[1] / 1e6
        return {c: n * pixel_mm2 for c, n in pixels.items()}, "mm2"
    return {c: float(n) for c, n in pixels.items()}, "pixels"


def _predicted_rows(reader: SlideReader, *, level: int, height: int, width: int, ys: list[int],
                    tiles: list[tuple[int, int]], predictor, normalizer, stain, blender: BandBlender,
                    batch_size: int, progress: ProgressCallback | None) -> Iterator[np.ndarray]:
    t = predictor.tile_size
    done = 0
    for start in range(0, len(tiles), batch_size):
        batch = tiles[start:start + batch_size]
        images = slide_tiles(reader, level=level, origins=[(ys[k], x) for k, x in batch], tile_size=t,
                             normalizer=normalizer, stain=stain)
        probs = predictor.predict_tiles(images)
        for (k, x), p in zip(batch, probs):
            yield from blender.add(row=k, x=x, probs=p)
        done += len(batch)
        if progress is not None:
            progress(done, len(tiles))
    yield from blender.finish()


def _parts(blocks: Iterator, *, stats: _RowStats, probabilities: bool) -> Iterator[tuple[np.ndarray, ...]]:
    """Blender blocks -> ``(classes,)`` or ``(classes, prob_0, ..., prob_C-1)``, one per writer; counted."""
    for block in blocks:
        classes, probs = block if probabilities else (block, None)
        stats.add(classes)
        yield (classes,) if probs is None else (classes, *(probs[..., c] for c in range(probs.shape[-1])))


def _pyramid_writer(path: Path, *, height: int, width: int, mpp: tuple[float, float] | None,
                    palette: np.ndarray | None = None,
                    description: str) -> Callable[[Iterator[np.ndarray]], list[tuple[int, int]]]:
    """A :func:`fan_out` consumer: the row stream it is given -> ``path``, a pyramidal TIFF."""
    return lambda rows: write_label_pyramid(path, rows=rows, height=height, width=width, mpp=mpp, palette=palette,
                                            description=description)


def _probability_paths(out_dir: Path, *, stem: str, scheme: ClassScheme) -> tuple[Path, ...]:
    """``<stem>_prob_<CODE>.tif`` per class; codes from a palette.tsv may hold any character."""
    names = [re.sub(r"[^A-Za-z0-9_.-]", "_", code) for code in scheme.codes]
    if len(set(n.lower() for n in names)) != len(names):
        # Case too: on macOS and Windows file names that differ only in case collide.
        raise ValueError(
            f"The class codes {', '.join(scheme.codes)} do not give distinct file names "
            f"({', '.join(names)}); rename the classes in the palette.tsv to write probabilities."
        )
    return tuple(out_dir / f"{stem}_prob_{name}.tif" for name in names)


def _classes_json(scheme: ClassScheme, *, only: int | None = None) -> str:
    """The TIFF description: the classes (index, code, name, colour) the values stand for."""
    classes = [{"index": i, "code": c, "name": n, "colour": list(rgb)}
               for i, (c, n, rgb) in enumerate(zip(scheme.codes, scheme.names, scheme.colours))]
    if only is None:
        return json.dumps({"values": "class index", "classes": classes})
    return json.dumps({"values": "probability x 255, rounded", "class": classes[only]})


class _RowStats:
    """Class pixel counts and a subsampled overview, from the stream of finished rows."""

    def __init__(self, *, num_classes: int, height: int, width: int, factor: int):
        self.counts = np.zeros(num_classes, dtype=np.int64)
        self.factor = factor
        # Preallocated: rows are copied in as they pass, never concatenated.
        self._overview = np.zeros((-(-height // factor), -(-width // factor)), dtype=np.uint8)
        self._y = 0

    def add(self, block: np.ndarray) -> None:
        # bincount widens its input to int64: a few rows at a time keeps that small.
        for r in range(0, block.shape[0], 16):
            self.counts += np.bincount(block[r:r + 16].ravel(), minlength=len(self.counts))[: len(self.counts)]
        f = self.factor
        first = (-self._y) % f  # first row of the block with a global index divisible by f
        if first < block.shape[0]:
            rows = block[first::f, ::f]
            top = (self._y + first) // f
            self._overview[top:top + rows.shape[0]] = rows
        self._y += block.shape[0]

    def overview(self) -> np.ndarray:
        return self._overview


def _write_preview(path: Path, overview: np.ndarray, *, scheme: ClassScheme, max_size: int) -> Path:
    from PIL import Image

    step = max(1, math.ceil(max(overview.shape) / max_size))
    with atomic_write(path) as tmp:
        Image.fromarray(scheme.palette_array()[overview[::step, ::step]]).save(tmp, format="PNG")
    return path
