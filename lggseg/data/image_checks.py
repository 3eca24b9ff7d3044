"""The one check of lggseg's image convention: numpy uint8 RGB, ``(H, W, 3)`` or ``(B, H, W, 3)``.

Every component that takes images (sources, augmentation, normalisers, the predictor)
calls :func:`check_rgb` where the image comes in, so a float or gray image fails there,
with a message naming the caller, instead of as a wrong colour far downstream.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_rgb"]

_LAYOUTS = {False: "(H, W, 3)", True: "(B, H, W, 3)", None: "(H, W, 3) or (B, H, W, 3)"}
_NDIMS = {False: (3,), True: (4,), None: (3, 4)}


def check_rgb(image: Any, *, what: str, batch: bool | None = False) -> np.ndarray:
    """``image`` as a numpy array, or a ValueError unless it is uint8 RGB.

    Args:
      image: the array to check (anything ``np.asarray`` takes).
      what: who is asking, the start of the message (``"detect_tissue"``,
        ``"reinhard reference"``, a sample's name).
      batch: ``False`` for one image ``(H, W, 3)``, ``True`` for a batch ``(B, H, W, 3)``,
        ``None`` for either.

    Returns:
      ``np.asarray(image)`` (no copy when it already is an array).

    Raises:
      ValueError: naming ``what``, the expected layout and the shape and dtype given.
    """
    if batch not in _LAYOUTS:
        raise ValueError(f"check_rgb: batch must be False, True or None, got {batch!r}.")
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim not in _NDIMS[batch] or array.shape[-1] != 3:
        raise ValueError(
            f"{what}: expected uint8 RGB {_LAYOUTS[batch]}, got shape {array.shape} "
            f"dtype {array.dtype}."
        )
    return array
