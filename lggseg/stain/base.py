"""The stain-normaliser interface shared by every method.

Two methods, as in torchstain: :meth:`StainNormalizer.fit` on a reference image, then
:meth:`StainNormalizer.transform` on one ``(H, W, 3)`` image or a ``(B, H, W, 3)`` batch.
Input and output are always uint8 RGB. Fitted parameters round-trip through a JSON file
(:meth:`save` / :func:`load_normalizer`) so that a run's normaliser is reused unchanged at
evaluation and prediction time.
"""

from __future__ import annotations

import abc
import json
from pathlib import Path
from typing import Any

import numpy as np


class StainNormalizer(abc.ABC):
    """Fit on a reference, then transform images to its stain.

    Subclasses set ``method`` (the registry name) and implement :meth:`fit`,
    :meth:`_transform_batch`, :meth:`get_config` and :meth:`from_config`.

    Attributes:
      passthrough_count: tiles returned unchanged since the last :meth:`reset_stats`
        (background-only or degenerate tiles), so callers can report them.
      transformed_count: tiles normalised since the last reset.
    """

    method: str = ""

    def __init__(self) -> None:
        self.passthrough_count = 0
        self.transformed_count = 0

    @abc.abstractmethod
    def fit(self, reference: np.ndarray) -> "StainNormalizer":
        """Estimate the reference's stain parameters from a uint8 RGB image; returns self."""

    @property
    @abc.abstractmethod
    def is_fitted(self) -> bool: ...

    def transform(self, images: np.ndarray) -> np.ndarray:
        """Normalise ``(H, W, 3)`` or ``(B, H, W, 3)`` uint8 RGB; returns the same shape, uint8."""
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.shape[-1] != 3 or images.ndim not in (3, 4):
            raise ValueError(
                f"{self.method}: expected uint8 RGB of shape (H, W, 3) or (B, H, W, 3), "
                f"got {images.shape} {images.dtype}."
            )
        if not self.is_fitted:
            raise ValueError(f"{self.method}: call fit(reference) (or load a fitted normaliser) first.")
        single = images.ndim == 3
        batch = images[None] if single else images
        out = self._transform_batch(batch)
        return out[0] if single else out

    @abc.abstractmethod
    def _transform_batch(self, batch: np.ndarray) -> np.ndarray:
        """``(B, H, W, 3)`` uint8 -> ``(B, H, W, 3)`` uint8; updates the counters."""

    def reset_stats(self) -> None:
        self.passthrough_count = 0
        self.transformed_count = 0

    @abc.abstractmethod
    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments plus fitted parameters."""

    @classmethod
    @abc.abstractmethod
    def from_config(cls, config: dict[str, Any]) -> "StainNormalizer": ...

    def save(self, path: str | Path) -> Path:
        """Write ``{"method": ..., "config": ...}`` as JSON."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"method": self.method, "config": self.get_config()}, indent=2))
        return path
