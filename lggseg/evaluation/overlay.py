"""Class masks drawn in the scheme's colours, alone or over the H&E image.

Unlabelled pixels (:data:`~lggseg.classes.IGNORE_INDEX`) have no class colour: they are
drawn in :data:`IGNORE_COLOUR`, a neutral grey that no built-in scheme uses, and over
the image as a diagonal hatch of it, so the tissue underneath stays visible and an
unlabelled region never looks like a class.
"""

from __future__ import annotations

import numpy as np

from lggseg.classes import IGNORE_INDEX, ClassScheme

__all__ = ["IGNORE_COLOUR", "colourize", "hatch", "overlay"]

# Mid grey: absent from both built-in palettes and readable over pink H&E and white glass.
IGNORE_COLOUR = (128, 128, 128)
# Every HATCH_PERIOD-th diagonal, HATCH_WIDTH pixels wide, carries the grey.
HATCH_PERIOD, HATCH_WIDTH = 6, 2


def colourize(mask: np.ndarray, *, scheme: ClassScheme) -> np.ndarray:
    """``(H, W)`` class indices -> ``(H, W, 3)`` uint8 in the class colours (unlabelled: :data:`IGNORE_COLOUR`)."""
    mask = np.asarray(mask)
    ignored = mask == IGNORE_INDEX
    if not ignored.any():
        return scheme.encode_rgb(mask)
    out = scheme.encode_rgb(np.where(ignored, 0, mask))
    out[ignored] = IGNORE_COLOUR
    return out


def hatch(shape: tuple[int, int]) -> np.ndarray:
    """``(H, W)`` bool, True on the diagonal stripes drawn over unlabelled pixels."""
    rows, cols = np.indices(shape)
    return (rows + cols) % HATCH_PERIOD < HATCH_WIDTH


def overlay(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    scheme: ClassScheme,
    alpha: float = 0.45,
    skip_background: bool = True,
) -> np.ndarray:
    """Blend the colour-coded mask over the image.

    Args:
      image: ``(H, W, 3)`` uint8 RGB.
      mask: ``(H, W)`` class indices.
      scheme: gives the colours.
      alpha: opacity of the mask colours, in [0, 1].
      skip_background: leave Background pixels (code ``BG``) uncoloured, so the tissue
        edge stays visible (Background is white in both built-in schemes).

    Unlabelled pixels (:data:`~lggseg.classes.IGNORE_INDEX`) get an opaque grey hatch
    (:func:`hatch`, :data:`IGNORE_COLOUR`) and the image between its stripes.

    Returns:
      ``(H, W, 3)`` uint8.
    """
    image = np.asarray(image)
    mask = np.asarray(mask)
    if image.shape[:2] != mask.shape or image.ndim != 3:
        raise ValueError(f"Image {image.shape} and mask {mask.shape} must have the same height and width.")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}.")
    colours = colourize(mask, scheme=scheme).astype(np.float32)
    a = np.full(mask.shape + (1,), alpha, dtype=np.float32)
    if skip_background and "bg" in (c.lower() for c in scheme.codes):
        a[mask == scheme.index("BG")] = 0.0
    ignored = mask == IGNORE_INDEX
    if ignored.any():
        a[ignored] = 0.0
        a[ignored & hatch(mask.shape)] = 1.0
    out = image.astype(np.float32) * (1.0 - a) + colours * a
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
