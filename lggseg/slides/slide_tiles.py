"""The tiles slide prediction feeds the model: read from a level, padded, stain-normalised.

Stain normalisation follows the one policy of :mod:`lggseg.stain.source_stain`: the
processing level is the image, its stain is estimated once (:func:`estimate_slide_stain`)
and every tile is transformed with that estimate (:func:`slide_tiles`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from lggseg.slides.reader import SlideReader

if TYPE_CHECKING:
    from lggseg.stain import SourceStain, StainNormalizer

__all__ = ["estimate_slide_stain", "slide_tiles"]


def estimate_slide_stain(reader: SlideReader, *, level: int,
                         normalizer: StainNormalizer | None) -> SourceStain | None:
    """The slide's one stain estimate at ``level``, or ``None`` without a normaliser.

    The processing level is the image of :mod:`lggseg.stain.source_stain`'s policy: read
    whole when small, else as its lattice of blocks (bounded memory either way).
    """
    if normalizer is None:
        return None
    height, width = reader.level_shape(level)

    def read(*, x: int, y: int, width: int, height: int) -> np.ndarray:
        return reader.read_region(x=x, y=y, width=width, height=height, level=level)

    return normalizer.estimate_region_source(height=height, width=width, read=read)


def slide_tiles(reader: SlideReader, *, level: int, origins: list[tuple[int, int]], tile_size: int,
                normalizer: StainNormalizer | None = None, stain: SourceStain | None = None) -> np.ndarray:
    """The tiles :func:`predict_slide` feeds the model for these ``(y, x)`` origins.

    Read from ``level`` (reflect-padded where the level is smaller than a tile, as
    :class:`~lggseg.evaluation.SlidingWindowPredictor` pads images) and, with a
    normaliser, transformed with the slide's ``stain`` (:func:`estimate_slide_stain`).

    Returns:
      ``(len(origins), tile_size, tile_size, 3)`` uint8.
    """
    if normalizer is not None and stain is None:
        raise ValueError("slide_tiles: a normaliser needs the slide's stain; pass stain=estimate_slide_stain(...).")
    height, width = reader.level_shape(level)
    images = np.stack(list(_read_tiles(reader, level=level, height=height, width=width, origins=origins,
                                       tile=tile_size)))
    return images if normalizer is None else normalizer.transform(images, source=stain)


def _read_tiles(reader: SlideReader, *, level: int, height: int, width: int, origins: list[tuple[int, int]],
                tile: int) -> Iterator[np.ndarray]:
    """The tiles at ``(y, x)`` origins; one region read per run of overlapping tiles in the same row."""
    from lggseg.evaluation.sliding_window import pad_to_size

    i = 0
    while i < len(origins):
        y0 = origins[i][0]
        j = i
        # Overlapping neighbours share one read (and one decode of the slide tiles beneath).
        while (j + 1 < len(origins) and origins[j + 1][0] == y0
               and origins[j][1] <= origins[j + 1][1] < origins[j][1] + tile):
            j += 1
        x0, x1 = origins[i][1], origins[j][1] + tile
        region = reader.read_region(x=x0, y=y0, width=min(x1, width) - x0, height=min(y0 + tile, height) - y0,
                                    level=level)
        # Only levels smaller than a tile need padding; the same as SlidingWindowPredictor's.
        region = pad_to_size(region, height=tile, width=x1 - x0)
        for _, x in origins[i:j + 1]:
            yield region[:, x - x0:x - x0 + tile]
        i = j + 1
