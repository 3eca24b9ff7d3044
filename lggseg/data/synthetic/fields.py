"""Smooth random fields: the raw material of the synthetic layouts and textures."""

from __future__ import annotations

import cv2
import numpy as np


def smooth_field(rng: np.random.Generator, size: int, scale: float) -> np.ndarray:
    """Zero-mean, unit-sd random field whose features are about ``scale`` pixels wide."""
    # Blurred noise on a coarse grid, upsampled: the cost does not grow with the scale.
    n = int(np.clip(round(2 * size / scale), 2, size)) + 2
    noise = rng.standard_normal((n, n), dtype=np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT)
    field = cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)
    return (field - field.mean()) / (field.std() + 1e-6)


def ramp(rng: np.random.Generator, size: int) -> np.ndarray:
    """A linear ramp in [-1, 1] across the tile, in a random direction."""
    angle = rng.uniform(0, 2 * np.pi)
    grid = (np.arange(size, dtype=np.float32) - size / 2) / size * 2.0
    return np.cos(angle) * grid[None, :] + np.sin(angle) * grid[:, None]


def lowest(values: np.ndarray, where: np.ndarray, count: int) -> np.ndarray:
    """Boolean mask of the ``count`` pixels of ``where`` with the lowest ``values``."""
    out = np.zeros(values.shape, dtype=bool)
    idx = np.flatnonzero(where)
    count = int(min(max(count, 0), idx.size))
    if count == 0:
        return out
    vals = values.ravel()[idx]
    pick = np.argpartition(vals, count - 1)[:count] if count < idx.size else np.arange(idx.size)
    out.ravel()[idx[pick]] = True
    return out

