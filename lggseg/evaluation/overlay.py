"""Class masks drawn in the scheme's colours, alone or over the H&E image."""

from __future__ import annotations

import numpy as np

from lggseg.classes import ClassScheme

__all__ = ["colourize", "overlay"]


def colourize(mask: np.ndarray, *, scheme: ClassScheme) -> np.ndarray:
    """``(H, W)`` class indices -> ``(H, W, 3)`` uint8 in the class colours."""
    return scheme.encode_rgb(np.asarray(mask))


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
    out = image.astype(np.float32) * (1.0 - a) + colours * a
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
