"""Random horizontal and vertical flips of an image and its mask."""

from __future__ import annotations

import cv2
import numpy as np


class RandomFlip:
    """Flip left-right and/or up-down, each with probability ``probability``.

    Args:
      horizontal: allow left-right flips.
      vertical: allow up-down flips.
      probability: chance of each allowed flip.
    """

    def __init__(self, *, horizontal: bool = True, vertical: bool = True, probability: float = 0.5) -> None:
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"RandomFlip: probability={probability} must be in [0, 1].")
        self.horizontal = bool(horizontal)
        self.vertical = bool(vertical)
        self.probability = float(probability)

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, *, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        # Draw both coins always, so the random stream does not depend on the settings' outcome.
        flip_h, flip_v = rng.random(2) < self.probability
        flip_h, flip_v = self.horizontal and flip_h, self.vertical and flip_v
        if not (flip_h or flip_v):
            return image.copy(), mask.copy()
        # cv2.flip codes: 1 left-right, 0 up-down, -1 both; several times faster than a
        # numpy copy of a reversed view.
        code = -1 if (flip_h and flip_v) else (1 if flip_h else 0)
        return cv2.flip(image, code), cv2.flip(mask, code)

    def __repr__(self) -> str:
        return f"RandomFlip(horizontal={self.horizontal}, vertical={self.vertical}, probability={self.probability})"
