"""Optical density (Beer-Lambert) helpers shared by the stain normalisers and stain jitter.

OD = -ln(I / 255) per channel, with I = 0 read as 1 so that black stays finite (as in
staintools). A 256-entry lookup table replaces the per-pixel log.
"""

from __future__ import annotations

import numpy as np

# float32: OD values are small (0..5.5) and every consumer works in float32.
OD_LUT = (-np.log(np.maximum(np.arange(256), 1) / 255.0)).astype(np.float32)


def tissue_threshold(beta: float) -> int:
    """The largest uint8 intensity whose OD is still >= ``beta`` (OD falls as I rises).

    A pixel is tissue when all three channels are <= this value, i.e. OD >= beta in every
    channel (Macenko et al. 2009); comparing uint8 is cheaper than comparing OD.
    """
    return int(np.count_nonzero(OD_LUT >= beta)) - 1


def tissue_mask(images: np.ndarray, *, beta: float) -> np.ndarray:
    """``(..., 3)`` uint8 -> ``(...)`` bool: OD >= ``beta`` in every channel."""
    t = tissue_threshold(beta)
    return (images[..., 0] <= t) & (images[..., 1] <= t) & (images[..., 2] <= t)


def od_to_uint8(od: np.ndarray) -> np.ndarray:
    """OD (float, any shape) -> uint8 intensities ``255 exp(-od)``, clipped before the cast."""
    out = np.exp(-od)
    out *= 255.0
    out += 0.5  # round half up: the cast truncates
    np.clip(out, 0.0, 255.0, out=out)
    return out.astype(np.uint8)
