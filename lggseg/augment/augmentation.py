"""The augmentation interface: one call moves an image and its mask together.

An :class:`Augmentation` is any callable ``aug(image, mask, *, rng) -> (image, mask)``
on one sample: ``image`` uint8 RGB ``(H, W, 3)``, ``mask`` uint8 class indices ``(H, W)``,
both returned as new arrays of the same dtypes. All randomness comes from ``rng``, so a
seeded generator reproduces a run. Geometric ops move the mask exactly as the image;
colour ops return the mask untouched (the same array).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from lggseg.data.image_checks import check_rgb


@runtime_checkable
class Augmentation(Protocol):
    """A joint image + mask augmentation of one sample."""

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, *, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]: ...


class Compose:
    """Apply ``ops`` in order.

    Args:
      ops: augmentations, each ``op(image, mask, *, rng) -> (image, mask)``.
    """

    def __init__(self, ops: Sequence[Augmentation] = ()) -> None:
        for op in ops:
            if not callable(op):
                raise ValueError(f"Compose: every op must be callable as op(image, mask, *, rng); got {op!r}.")
        self.ops = tuple(ops)

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, *, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        check_sample(image, mask)
        for op in self.ops:
            image, mask = op(image, mask, rng=rng)
        return image, mask

    def __repr__(self) -> str:
        return f"Compose({list(self.ops)!r})"


def check_sample(image: np.ndarray, mask: np.ndarray) -> None:
    """Raise ValueError unless ``image`` is uint8 ``(H, W, 3)`` and ``mask`` is ``(H, W)``."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"augmentation: image must be a numpy array, got {type(image).__name__}.")
    check_rgb(image, what="augmentation: image")
    if not isinstance(mask, np.ndarray) or mask.shape != image.shape[:2]:
        raise ValueError(f"augmentation: mask must be (H, W) = {image.shape[:2]}, got {getattr(mask, 'shape', None)}.")
