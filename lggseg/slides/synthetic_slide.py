"""Synthetic whole-slide images: tiled pyramidal TIFFs of any size, written in bounded memory.

A slide is a grid of ``block`` x ``block`` blocks; each block is glass (white with a
little noise) or one of ``distinct`` synthetic H&E tiles from
:func:`lggseg.data.synthetic.generate`, chosen by a seeded hash of the block position,
with glass more likely towards the slide's border, like a section on a slide. Only the
distinct tiles (and their downsampled versions) are held in memory; TIFF tiles are made
on the fly and handed to tifffile as an iterator, so a 20,000^2 slide costs the same
memory as a 2,000^2 one. Reduced levels (2x, 4x, ...) are written as successive pages
marked as reduced-resolution images, as in SVS files, or as SubIFDs; the resolution tags
carry ``mpp``. For tests, benchmarks and demos.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["write_synthetic_slide"]


def write_synthetic_slide(
    path: str | Path,
    *,
    width: int,
    height: int,
    block: int = 512,
    distinct: int = 8,
    glass_share: float = 0.3,
    mpp: float | None = 0.5,
    tile_size: int = 256,
    compression: str = "jpeg",
    pyramid: str = "pages",
    min_level_size: int = 512,
    seed: int = 0,
) -> Path:
    """Write a synthetic H&E slide as a tiled pyramidal TIFF.

    Args:
      path: the ``.tif`` to write.
      width, height: level-0 size in pixels.
      block: side of the content blocks (a power of two >= 32, so levels divide it).
      distinct: number of different H&E blocks cycled through.
      glass_share: approximate share of glass (background) blocks.
      mpp: level-0 microns per pixel for the resolution tags (``None``: no tags).
      tile_size: TIFF tile side (multiple of 16).
      compression: ``'jpeg'`` (like scanners) or ``'zlib'`` (lossless).
      pyramid: ``'pages'`` (successive reduced-resolution pages, as SVS) or ``'subifds'``.
      min_level_size: add levels while the longer side stays at least this.
      seed: fixes the content.

    Returns:
      ``path``.
    """
    import cv2
    import tifffile

    from lggseg.data.synthetic import generate

    if block < 32 or block & (block - 1):
        raise ValueError(f"block must be a power of two >= 32, got {block}.")
    if pyramid not in ("pages", "subifds"):
        raise ValueError(f"pyramid must be 'pages' or 'subifds', got {pyramid!r}.")
    if width < 1 or height < 1:
        raise ValueError(f"width and height must be >= 1, got {width}x{height}.")
    factors = [1]
    while max(width, height) // (factors[-1] * 2) >= min_level_size and factors[-1] * 2 <= block:
        factors.append(factors[-1] * 2)
    tiles = [generate(size=block, seed=seed, index=i).image for i in range(distinct)]
    rng = np.random.default_rng(seed)
    glass = np.clip(rng.normal(243, 4, size=(block, block, 3)), 0, 255).astype(np.uint8)
    library = {f: [cv2.resize(t, (block // f, block // f), interpolation=cv2.INTER_AREA) if f > 1 else t
                   for t in [glass, *tiles]] for f in factors}
    nby, nbx = -(-height // block), -(-width // block)
    choice = _block_choice(nby, nbx, distinct=distinct, glass_share=glass_share, seed=seed)

    def level_tiles(f: int) -> Iterator[np.ndarray]:
        return _level_tiles(library[f], choice, height=-(-height // f), width=-(-width // f), block=block // f,
                            tile_size=tile_size)

    def tags(f: int) -> dict:
        if mpp is None:
            return {}
        return {"resolution": (1e4 / (mpp * f), 1e4 / (mpp * f)), "resolutionunit": "CENTIMETER"}

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"tile": (tile_size, tile_size), "compression": compression, "photometric": "rgb",
               "dtype": np.uint8, "metadata": None}
    if compression == "jpeg":
        options["compressionargs"] = {"level": 90}
    bigtiff = width * height * 3 > 2**31
    with tifffile.TiffWriter(path, bigtiff=bigtiff) as tw:
        subifds = len(factors) - 1 if pyramid == "subifds" else None
        for i, f in enumerate(factors):
            shape = (-(-height // f), -(-width // f), 3)
            extra = {"subifds": subifds} if (i == 0 and subifds) else {}
            tw.write(level_tiles(f), shape=shape, subfiletype=0 if i == 0 else 1, **options, **tags(f), **extra)
    return path


def _level_tiles(blocks: list[np.ndarray], choice: np.ndarray, *, height: int, width: int, block: int,
                 tile_size: int) -> Iterator[np.ndarray]:
    """The TIFF tiles of one level, row by row: each cut from the blocks ``choice`` places there.

    Args:
      blocks: the level's block images (glass first), ``block`` x ``block`` each.
      choice: ``(blocks down, blocks across)`` index into ``blocks`` per level-0 block.
      height, width: the level's size; block: the block side at this level.
    """
    nby, nbx = choice.shape
    for ty in range(0, height, tile_size):
        for tx in range(0, width, tile_size):
            out = np.empty((tile_size, tile_size, 3), dtype=np.uint8)
            y = ty
            while y < ty + tile_size:
                hh = min(block - y % block, ty + tile_size - y)
                x = tx
                while x < tx + tile_size:
                    ww = min(block - x % block, tx + tile_size - x)
                    src = blocks[choice[min(y // block, nby - 1), min(x // block, nbx - 1)]]
                    out[y - ty:y - ty + hh, x - tx:x - tx + ww] = src[y % block:y % block + hh, x % block:x % block + ww]
                    x += ww
                y += hh
            yield out


def _block_choice(nby: int, nbx: int, *, distinct: int, glass_share: float, seed: int) -> np.ndarray:
    """Per block: 0 = glass, 1..distinct = an H&E tile; glass likelier near the border."""
    rng = np.random.default_rng([seed, 1])
    yy, xx = np.meshgrid(np.linspace(-1, 1, nby), np.linspace(-1, 1, nbx), indexing="ij")
    # Distance from the centre plus noise, cut at the glass quantile: a ragged section.
    score = np.maximum(np.abs(yy), np.abs(xx)) + rng.normal(0, 0.35, size=(nby, nbx))
    glass = score > np.quantile(score, 1 - glass_share) if glass_share > 0 else np.zeros_like(score, bool)
    kinds = rng.integers(1, distinct + 1, size=(nby, nbx))
    return np.where(glass, 0, kinds)
