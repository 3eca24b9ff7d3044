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

from lggseg.data.image_checks import check_rgb


class StainNormalizer(abc.ABC):
    """Fit on a reference, then transform images to its stain.

    Subclasses set ``method`` (the registry name) and implement :meth:`fit`,
    :meth:`_transform_batch`, :meth:`get_config` and :meth:`from_config`.

    Attributes:
      passthrough_count: tiles returned unchanged since the last :meth:`reset_stats`
        (background-only or degenerate tiles), so callers can report them.
      transformed_count: tiles normalised since the last reset.
      passthrough_reasons: reason -> count of the pass-throughs since the last reset.
      last_passthrough: one entry per image of the last :meth:`transform` call: ``None``
        when it was normalised, else why it was passed through unchanged.
      reference_name: the name of the reference image (file or training image), saved
        with the fitted parameters so that a run records which image set the stain.
    """

    method: str = ""

    def __init__(self) -> None:
        self.passthrough_count = 0
        self.transformed_count = 0
        self.passthrough_reasons: dict[str, int] = {}
        self.last_passthrough: list[str | None] = []
        self.reference_name = ""

    @abc.abstractmethod
    def fit(self, reference: np.ndarray) -> "StainNormalizer":
        """Estimate the reference's stain parameters from a uint8 RGB image; returns self."""

    @property
    @abc.abstractmethod
    def is_fitted(self) -> bool: ...

    def transform(self, images: np.ndarray) -> np.ndarray:
        """Normalise ``(H, W, 3)`` or ``(B, H, W, 3)`` uint8 RGB; returns the same shape, uint8."""
        images = check_rgb(images, what=self.method, batch=None)
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
        self.passthrough_reasons = {}

    def _record(self, reasons: list[str | None]) -> None:
        """Count one transform call: ``reasons[i]`` is None (normalised) or why image i passed through."""
        self.last_passthrough = list(reasons)
        for reason in reasons:
            if reason is None:
                self.transformed_count += 1
            else:
                self.passthrough_count += 1
                # Counted by kind (the text before the colon), not by the per-tile numbers.
                kind = reason.split(":")[0]
                self.passthrough_reasons[kind] = self.passthrough_reasons.get(kind, 0) + 1

    @abc.abstractmethod
    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments plus fitted parameters."""

    @classmethod
    @abc.abstractmethod
    def from_config(cls, config: dict[str, Any]) -> "StainNormalizer": ...

    def save(self, path: str | Path) -> Path:
        """Write ``{"method": ..., "reference": ..., "config": ...}`` as JSON (see :func:`load_normalizer`)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"method": self.method, "reference": self.reference_name, "config": self.get_config()}
        path.write_text(json.dumps(record, indent=2))
        return path
