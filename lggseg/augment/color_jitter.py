"""Random brightness, contrast, saturation and hue of the image; the mask is untouched.

Each op draws one factor per sample (the definitions of torchvision's ColorJitter, which
also match ``tf.image.random_*``): brightness multiplies RGB by ``b``; contrast blends
with the mean grey level, ``m + c (x - m)``; saturation blends with the pixel's grey
level, ``g + s (x - g)``; hue rotates the HSV hue by ``h`` of a full turn. ``b, c, s`` are
uniform in ``[1 - factor, 1 + factor]`` and ``h`` in ``[-factor, factor]``; the method
lggseg grows from used +-20 % for all four. A hue factor of 0.2 turns hue by up to 72
degrees, a large shift for H&E: lower it (e.g. 0.05) for subtler colour variation.

All four are 256-entry lookup tables or one cv2 colour conversion on uint8 data, with
rounding and saturation (never wrap-around), so they cost tens of microseconds per
256x256 tile.
"""

from __future__ import annotations

import cv2
import numpy as np


def _check_factor(name: str, factor: float, upper: float) -> float:
    if not 0.0 <= factor < upper:
        raise ValueError(f"{name}: factor={factor} must be in [0, {upper}).")
    return float(factor)


def _lut(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


_LEVELS = np.arange(256, dtype=np.float64)


class RandomBrightness:
    """Multiply RGB by a factor uniform in ``[1 - factor, 1 + factor]``.

    Args:
      factor: relative range, in [0, 1) (0.2: +-20 %).
    """

    def __init__(self, *, factor: float = 0.2) -> None:
        self.factor = _check_factor("RandomBrightness", factor, 1.0)

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, *, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        scale = rng.uniform(1.0 - self.factor, 1.0 + self.factor)
        return cv2.LUT(image, _lut(_LEVELS * scale)), mask

    def __repr__(self) -> str:
        return f"RandomBrightness(factor={self.factor})"


class RandomContrast:
    """Blend with the image's mean grey level by a factor uniform in ``[1 - factor, 1 + factor]``.

    Args:
      factor: relative range, in [0, 1) (0.2: +-20 %).
    """

    def __init__(self, *, factor: float = 0.2) -> None:
        self.factor = _check_factor("RandomContrast", factor, 1.0)

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, *, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        scale = rng.uniform(1.0 - self.factor, 1.0 + self.factor)
        grey = float(cv2.mean(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))[0])
        return cv2.LUT(image, _lut(grey + scale * (_LEVELS - grey))), mask

    def __repr__(self) -> str:
        return f"RandomContrast(factor={self.factor})"


class RandomSaturation:
    """Blend each pixel with its grey level by a factor uniform in ``[1 - factor, 1 + factor]``.

    Args:
      factor: relative range, in [0, 1) (0.2: +-20 %).
    """

    def __init__(self, *, factor: float = 0.2) -> None:
        self.factor = _check_factor("RandomSaturation", factor, 1.0)

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, *, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        scale = rng.uniform(1.0 - self.factor, 1.0 + self.factor)
        grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        # addWeighted rounds and saturates to uint8.
        return cv2.addWeighted(image, scale, grey, 1.0 - scale, 0.0), mask

    def __repr__(self) -> str:
        return f"RandomSaturation(factor={self.factor})"


class RandomHue:
    """Rotate the HSV hue by a fraction of a full turn uniform in ``[-factor, factor]``.

    Args:
      factor: in [0, 0.5] (0.2: up to +-72 degrees; OpenCV's uint8 hue has 2-degree steps).
    """

    def __init__(self, *, factor: float = 0.2) -> None:
        self.factor = _check_factor("RandomHue", factor, 0.5 + 1e-9)

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, *, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        turn = rng.uniform(-self.factor, self.factor)
        shift = int(round(turn * 180.0))  # OpenCV's uint8 hue runs 0..179
        if shift % 180 == 0:
            return image.copy(), mask
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
        table = np.stack([(np.arange(256) + shift) % 180, np.arange(256), np.arange(256)], axis=-1)
        hsv = cv2.LUT(hsv, table.astype(np.uint8).reshape(256, 1, 3))
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), mask

    def __repr__(self) -> str:
        return f"RandomHue(factor={self.factor})"
