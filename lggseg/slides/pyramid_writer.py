"""Writes a uint8 plane as a tiled pyramidal TIFF, from a stream of rows, in bounded memory.

The plane is a class map (class indices, with the classes' colours as a TIFF palette) or
one class's probabilities (0..255, greyscale). Level 0 is written as the rows arrive (tifffile accepts an iterator of tiles in raster
order), so the whole map never exists in memory. The reduced levels are then appended as
successive pages marked as reduced-resolution images (NewSubfileType = 1), each made by
taking every 2^k-th pixel of level 0 read back strip by strip: nearest-neighbour, because
averaging class indices would invent classes (probability planes are reduced the same
way, so every level of a probability pyramid stays aligned with, and its argmax equal to,
the class map's level). tiffslide, OpenSlide, QuPath and libvips
read this layout as a pyramid. Deflate compression keeps the indices exact (JPEG would
not) and shrinks the mostly uniform maps to a few percent.

A class map is written as a palette-colour image (Photometric = Palette, with a ColorMap
on every level): the stored values stay the class indices, and viewers (QuPath, libvips,
PIL, image viewers) show each class in its colour instead of near-black greys 0..C-1.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

__all__ = ["write_label_pyramid"]


def write_label_pyramid(
    path: str | Path,
    *,
    rows: Iterable[np.ndarray],
    height: int,
    width: int,
    mpp: tuple[float, float] | None = None,
    tile_size: int = 256,
    min_level_size: int = 256,
    compression: str = "zlib",
    palette: np.ndarray | None = None,
    description: str | None = None,
) -> list[tuple[int, int]]:
    """Write uint8 row blocks as a pyramidal TIFF; returns ``(height, width)`` per level.

    Args:
      path: the ``.tif`` file to write (overwritten).
      rows: uint8 ``(h, width)`` blocks, top to bottom, ``height`` rows in total.
      height, width: size of level 0.
      mpp: microns per pixel ``(x, y)`` of level 0, written as the TIFF resolution tags
        (per centimetre) and scaled for each reduced level; ``None`` writes none.
      tile_size: TIFF tile side (a multiple of 16).
      min_level_size: levels are halved until the longer side would drop below this.
      compression: a tifffile compression name; lossless ones only make sense.
      palette: ``(N, 3)`` uint8 RGB colours of the values ``0..N-1`` (N <= 256), written
        as the TIFF colour map of every level; values without a colour show black.
        ``None`` writes a greyscale image.
      description: the ImageDescription of level 0 (e.g. JSON naming the classes).

    Raises:
      ValueError: when the rows do not add up to ``height`` x ``width``, or for a
        palette that is not ``(N <= 256, 3)`` uint8.
    """
    import tifffile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if tile_size % 16:
        raise ValueError(f"tile_size must be a multiple of 16 (a TIFF rule), got {tile_size}.")
    # Classic TIFF stops at 4 GB; a generous margin for the tile index keeps it safe.
    bigtiff = height * width > 2**31
    look = _look(palette)

    def tags(factor: int) -> dict:
        if mpp is None:
            return {}
        return {"resolution": (1e4 / (mpp[0] * factor), 1e4 / (mpp[1] * factor)), "resolutionunit": "CENTIMETER"}

    counted = _CountingRows(rows, width=width)
    with tifffile.TiffWriter(path, bigtiff=bigtiff) as tw:
        tw.write(
            _tiles_from_rows(counted, width=width, tile=tile_size),
            shape=(height, width), dtype=np.uint8, tile=(tile_size, tile_size), compression=compression,
            metadata=None, description=description, maxworkers=1, **look, **tags(1),
        )
    if counted.rows != height:
        raise ValueError(f"{path}: the row stream gave {counted.rows} rows, expected {height}.")

    import zarr

    levels = [(height, width)]
    factor = 2
    with tifffile.TiffFile(path) as tf:
        level0 = zarr.open(tf.pages[0].aszarr(), mode="r")
        with tifffile.TiffWriter(path, append=True, bigtiff=bigtiff) as tw:
            while max(-(-height // factor), -(-width // factor)) >= min_level_size:
                h, w = -(-height // factor), -(-width // factor)
                tw.write(
                    _tiles_from_rows(_subsampled_rows(level0, factor=factor, strip=tile_size), width=w, tile=tile_size),
                    shape=(h, w), dtype=np.uint8, tile=(tile_size, tile_size), compression=compression,
                    subfiletype=1, metadata=None, maxworkers=1, **look, **tags(factor),
                )
                levels.append((h, w))
                factor *= 2
    return levels


def _look(palette: np.ndarray | None) -> dict:
    """tifffile's photometric (and colour map) arguments for an optional palette."""
    if palette is None:
        return {"photometric": "minisblack"}
    palette = np.asarray(palette)
    if palette.ndim != 2 or palette.shape[1] != 3 or not 0 < palette.shape[0] <= 256 or palette.dtype != np.uint8:
        raise ValueError(f"palette must be (N <= 256, 3) uint8 RGB colours, got {palette.shape} {palette.dtype}.")
    # A TIFF colour map is 3 x 2^BitsPerSample uint16; 257 maps 0..255 onto 0..65535 exactly,
    # so readers that keep the high byte (PIL) recover the 8-bit colours.
    colormap = np.zeros((3, 256), dtype=np.uint16)
    colormap[:, : palette.shape[0]] = palette.T.astype(np.uint16) * 257
    return {"photometric": "palette", "colormap": colormap}


class _CountingRows:
    def __init__(self, rows: Iterable[np.ndarray], *, width: int):
        self._rows = rows
        self.width = width
        self.rows = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for block in self._rows:
            if block.ndim != 2 or block.shape[1] != self.width or block.dtype != np.uint8:
                raise ValueError(f"Row blocks must be uint8 (h, {self.width}), got {block.shape} {block.dtype}.")
            self.rows += block.shape[0]
            yield block


def _tiles_from_rows(rows: Iterable[np.ndarray], *, width: int, tile: int) -> Iterator[np.ndarray]:
    """Row blocks of any heights -> full ``tile`` x ``tile`` tiles in raster order (zero-padded)."""
    pending: list[np.ndarray] = []
    have = 0
    for block in rows:
        pending.append(block)
        have += block.shape[0]
        while have >= tile:
            band = np.concatenate(pending, axis=0) if len(pending) > 1 else pending[0]
            yield from _band_tiles(band[:tile], width=width, tile=tile)
            rest = band[tile:]
            pending, have = ([rest] if rest.shape[0] else []), rest.shape[0]
    if have:
        yield from _band_tiles(np.concatenate(pending, axis=0), width=width, tile=tile)


def _band_tiles(band: np.ndarray, *, width: int, tile: int) -> Iterator[np.ndarray]:
    for x in range(0, width, tile):
        part = band[:, x:x + tile]
        if part.shape == (tile, tile):
            yield np.ascontiguousarray(part)
        else:
            out = np.zeros((tile, tile), dtype=np.uint8)
            out[:part.shape[0], :part.shape[1]] = part
            yield out


def _subsampled_rows(level0, *, factor: int, strip: int) -> Iterator[np.ndarray]:
    """Every ``factor``-th row and column of a 2-D zarr array, read ``strip`` rows at a time."""
    height = level0.shape[0]
    # Strips start at multiples of factor, so the kept rows are y % factor == 0 globally.
    rows = max(factor, strip // factor * factor)
    for y in range(0, height, rows):
        yield np.asarray(level0[y:min(y + rows, height):factor, ::factor])
