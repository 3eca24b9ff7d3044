"""Random rotations by multiples of 90 degrees of an image and its mask."""

from __future__ import annotations

import cv2
import numpy as np

# np.rot90's k counter-clockwise quarter turns as cv2.rotate codes (several times faster).
_CV2_CODES = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}


class RandomRot90:
    """Rotate by 0, 90, 180 or 270 degrees, uniformly.

    Exact (no interpolation), so the mask keeps its class indices. A non-square sample
    comes back transposed in shape for 90 and 270 degrees.
    """

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, *, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        k = int(rng.integers(4))  # quarter turns counter-clockwise, as np.rot90
        if k == 0:
            return image.copy(), mask.copy()
        code = _CV2_CODES[k]
        return cv2.rotate(image, code), cv2.rotate(mask, code)

    def __repr__(self) -> str:
        return "RandomRot90()"
