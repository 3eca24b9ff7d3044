"""Cutting square tiles from images and masks, and the model's input scaling.

Training cuts one tile per :class:`~lggseg.training.samplers.TileSpec`: a random crop, or a
crop centred on a chosen pixel (clamped so the tile stays inside the image).
Evaluation cuts a deterministic grid that covers the whole image. Images may have any size
at least as large as the tile; a smaller one is an error that says what to do.

:func:`to_model_input` is the one place that defines how uint8 pixels become model input,
so that training, evaluation and prediction cannot disagree about it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["tile_origin", "random_tile", "grid_origins", "grid_tiles", "to_model_input"]


def _check_fits(shape: tuple[int, ...], size: int, name: str) -> tuple[int, int]:
    if not isinstance(size, (int, np.integer)) or size <= 0:
        raise ValueError(f"Tile size must be a positive integer, got {size!r}.")
    height, width = int(shape[0]), int(shape[1])
    if height < size or width < size:
        raise ValueError(
            f"{name}: image of {height}x{width} pixels is smaller than the {size}x{size} tile. "
            f"Use a tile size of at most {min(height, width)}, or pad the image "
            f"(e.g. with white background) to at least {size}x{size}."
        )
    return height, width


def tile_origin(
    shape: tuple[int, ...],
    *,
    size: int,
    rng: np.random.Generator | None = None,
    center: tuple[int, int] | None = None,
    name: str = "image",
) -> tuple[int, int]:
    """Top-left corner ``(row, col)`` of a ``size`` x ``size`` tile inside an image of ``shape``.

    Args:
      shape: the image's ``(H, W, ...)`` shape.
      size: tile side in pixels.
      rng: draws the corner uniformly when ``center`` is None.
      center: ``(row, col)`` pixel the tile is centred on; the tile is shifted (clamped) to
        stay inside the image, so the pixel is always inside the tile.
      name: names the image in errors.

    Raises:
      ValueError: naming the image and the sizes, when the image is smaller than the tile.
    """
    height, width = _check_fits(shape, size, name)
    if center is None:
        if rng is None:
            raise ValueError("tile_origin: give either `center` or a random generator `rng`.")
        return int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1))
    row, col = int(center[0]), int(center[1])
    if not (0 <= row < height and 0 <= col < width):
        raise ValueError(f"{name}: tile centre {(row, col)} lies outside the {height}x{width} image.")
    top = min(max(row - size // 2, 0), height - size)
    left = min(max(col - size // 2, 0), width - size)
    return top, left


def random_tile(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    size: int,
    rng: np.random.Generator,
    center: tuple[int, int] | None = None,
    name: str = "image",
) -> tuple[np.ndarray, np.ndarray]:
    """A ``size`` x ``size`` crop of an image and its mask: random, or centred on a pixel.

    Args:
      image: ``(H, W, 3)`` uint8 RGB, ``H, W >= size``.
      mask: ``(H, W)`` class indices.
      size: tile side in pixels.
      rng: draws the position when ``center`` is None.
      center: ``(row, col)`` to centre the tile on (clamped to stay inside the image).
      name: names the sample in errors.

    Returns:
      ``(image_tile (size, size, 3), mask_tile (size, size))``, views into the inputs.
    """
    if image.shape[:2] != mask.shape[:2]:
        raise ValueError(f"{name}: image shape {image.shape[:2]} differs from mask shape {mask.shape[:2]}.")
    top, left = tile_origin(image.shape, size=size, rng=rng, center=center, name=name)
    return image[top : top + size, left : left + size], mask[top : top + size, left : left + size]


def grid_origins(
    shape: tuple[int, ...],
    *,
    size: int,
    stride: int | None = None,
    name: str = "image",
) -> list[tuple[int, int]]:
    """Top-left corners of a grid of tiles that covers the whole image.

    Tiles step by ``stride`` (default ``size``: no overlap); the last row and column are
    placed flush with the border, so every pixel is covered and no tile leaves the image.
    """
    height, width = _check_fits(shape, size, name)
    stride = size if stride is None else int(stride)
    if not 0 < stride <= size:
        raise ValueError(f"Grid stride must lie in 1..{size} (the tile size), got {stride}.")

    def starts(extent: int) -> list[int]:
        out = list(range(0, extent - size + 1, stride))
        if out[-1] != extent - size:
            out.append(extent - size)
        return out

    return [(r, c) for r in starts(height) for c in starts(width)]


def grid_tiles(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    size: int,
    stride: int | None = None,
    name: str = "image",
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Deterministic evaluation tiles covering an image (see :func:`grid_origins`).

    Returns:
      ``(images (N, size, size, 3), masks (N, size, size) or None, origins (N, 2) int)``.
    """
    origins = grid_origins(image.shape, size=size, stride=stride, name=name)
    images = np.stack([image[r : r + size, c : c + size] for r, c in origins])
    masks = None if mask is None else np.stack([mask[r : r + size, c : c + size] for r, c in origins])
    return images, masks, np.asarray(origins, dtype=np.int64)


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 RGB ``(..., H, W, 3)`` -> float32 in [0, 1] (pixel / 255): the model's input."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"to_model_input expects uint8 pixels, got {images.dtype}.")
    return images.astype(np.float32) / np.float32(255.0)
