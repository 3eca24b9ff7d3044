"""Pen and marker ink in H&E images: near-black, or a hue that neither stain has.

Pathologists circle regions and mark orientation with marker pens, and the ink is scanned with
the tissue: W30-1-1-C.01 of the IvyGAP images carries a black marker rectangle at its top edge,
which a model trained on stained tissue calls tumour. Ink is recognised by colour:

* **dark**: the brightest of a pixel's R, G and B below ``value_max`` (50). Stained tissue
  stays above it: the 0.5th percentile of that value is 53-110 over the 40 IvyGAP images,
  dark nuclei included, and the 5x5 open below removes the few darker pixels of single
  nuclei. The black marker rectangles of W30-1-1-C.01, F.01 and I.04 lie at 10-40; so do
  tissue folds dark enough to hide their cells (W3-1-1-A.2.03, C.1.03), an artefact that is
  masked for the same reason.
* **off-stain hue**: OpenCV hue ``hue_range`` (35-110 of 0-180, i.e. 70-220 degrees: green, cyan,
  sky blue) with saturation above ``saturation_min``. Eosin is pink-red and hematoxylin
  blue-purple (about 240-300 degrees), so neither reaches it; green and blue markers do.

A 5x5 open removes isolated pixels (dust, JPEG noise) and a dilation by the same kernel takes in
the anti-aliased rim of a stroke, whose mixed colour would otherwise be left as tissue.
"""

from __future__ import annotations

import numpy as np

from lggseg.data.image_checks import check_rgb

__all__ = ["detect_ink"]


def detect_ink(
    image: np.ndarray,
    *,
    value_max: int = 50,
    hue_range: tuple[int, int] = (35, 110),
    saturation_min: int = 60,
    kernel_size: int = 5,
) -> np.ndarray:
    """Boolean mask of pen and marker ink in a uint8 RGB image (see the module docstring).

    Args:
      image: ``(H, W, 3)`` uint8 RGB.
      value_max: a pixel whose brightest channel is below this is ink (black or dark marker).
      hue_range: ``(low, high)`` OpenCV hue (0..180) of coloured ink, inclusive.
      saturation_min: coloured ink must be more saturated than this (0..255): pale grey-blue
        glass and out-of-focus tissue are not ink.
      kernel_size: side of the square open/dilate kernel; 0 or 1 skips both.

    Returns:
      ``(H, W)`` bool, True on ink.
    """
    import cv2

    image = check_rgb(image, what="detect_ink")
    low, high = hue_range
    if not 0 <= low <= high <= 180:
        raise ValueError(f"hue_range must be (low, high) with 0 <= low <= high <= 180 (OpenCV hue), got {hue_range}.")
    if not 0 <= value_max <= 255 or not 0 <= saturation_min <= 255:
        raise ValueError(f"value_max ({value_max}) and saturation_min ({saturation_min}) must lie in 0..255.")
    if kernel_size < 0:
        raise ValueError(f"kernel_size must be >= 0, got {kernel_size}.")
    hsv = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2HSV)
    hue, saturation, value = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    dark = value < value_max
    coloured = (hue >= low) & (hue <= high) & (saturation > saturation_min)
    ink = (dark | coloured).astype(np.uint8)
    if kernel_size > 1:
        kernel = np.ones((kernel_size, kernel_size), np.uint8)
        ink = cv2.morphologyEx(ink, cv2.MORPH_OPEN, kernel)
        ink = cv2.dilate(ink, kernel)
    return ink.astype(bool)
