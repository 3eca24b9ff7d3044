"""Reinhard colour transfer: match the mean and standard deviation of each LAB channel.

Reference: E. Reinhard, M. Ashikhmin, B. Gooch and P. Shirley, "Color transfer between
images", IEEE Computer Graphics and Applications 21(5), 2001, pp. 34-41.

Statistics are over all pixels of the image (:mod:`lggseg.stain.source_stain`: once per
image, applied to all its regions), as in the paper and in staintools. Images with fewer
than ``min_tissue_pixels`` tissue pixels (OD >= ``beta`` in every channel) pass through
unchanged: matching a white image's statistics to a tissue reference would paint the
background; so do images with a flat LAB channel (standard deviation ~0), which would be
divided by zero.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from lggseg.data.image_checks import check_rgb
from lggseg.stain._optical_density import tissue_mask
from lggseg.stain.base import StainNormalizer
from lggseg.stain.source_stain import SourceStain


class Reinhard(StainNormalizer):
    """Reinhard et al. (2001) LAB mean/std colour transfer.

    Args:
      beta: OD threshold of the tissue test (as in :class:`~lggseg.stain.Macenko`).
      min_tissue_pixels: fewer tissue pixels than this and an image passes through.
    """

    method = "reinhard"

    def __init__(self, *, beta: float = 0.15, min_tissue_pixels: int = 500) -> None:
        super().__init__()
        if not 0.0 < beta < 5.0:
            raise ValueError(f"reinhard: beta={beta} must be in (0, 5) (an optical density).")
        if min_tissue_pixels < 1:
            raise ValueError(f"reinhard: min_tissue_pixels={min_tissue_pixels} must be >= 1.")
        self.beta = float(beta)
        self.min_tissue_pixels = int(min_tissue_pixels)
        self.means: np.ndarray | None = None
        self.stds: np.ndarray | None = None

    def fit(self, reference: np.ndarray) -> "Reinhard":
        """Record the reference's LAB channel means and standard deviations.

        Raises:
          ValueError: when the reference is not uint8 RGB or has a flat channel.
        """
        reference = check_rgb(reference, what="reinhard reference")
        means, stds = _lab_stats(_to_lab(reference))
        if stds.min() < 1e-3:
            raise ValueError(f"reinhard: the reference image has a flat LAB channel (stds {stds.round(4).tolist()}).")
        self.means, self.stds = means, stds
        return self

    @property
    def is_fitted(self) -> bool:
        return self.means is not None

    def _estimate_source(self, sample: np.ndarray) -> SourceStain:
        pixels = sample.shape[0] * sample.shape[1]
        count = int(np.count_nonzero(tissue_mask(sample, beta=self.beta)))
        if count < self.min_tissue_pixels:
            reason = f"background: {count} tissue pixels < min_tissue_pixels={self.min_tissue_pixels}"
            return SourceStain(method=self.method, parameters={}, reason=reason, pixels=pixels)
        means, stds = _lab_stats(_to_lab(sample))
        reason = None if stds.min() >= 1e-3 else f"degenerate: flat LAB channel (stds {stds.round(4).tolist()})"
        return SourceStain(method=self.method, parameters={"means": means, "stds": stds}, reason=reason, pixels=pixels)

    def _apply_source(self, batch: np.ndarray, source: SourceStain) -> tuple[np.ndarray, list[str | None]]:
        means = np.asarray(source.parameters["means"], np.float64)
        gain = (self.stds / np.asarray(source.parameters["stds"], np.float64)).astype(np.float32)
        out = np.empty_like(batch)
        for i, image in enumerate(batch):
            lab = (_to_lab(image) - means.astype(np.float32)) * gain + self.means.astype(np.float32)
            rgb = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
            # Clip before the cast: out-of-gamut LAB never wraps around.
            out[i] = np.clip(rgb * np.float32(255.0) + np.float32(0.5), 0.0, 255.0).astype(np.uint8)
        return out, [None] * batch.shape[0]

    def get_config(self) -> dict[str, Any]:
        return {
            "beta": self.beta,
            "min_tissue_pixels": self.min_tissue_pixels,
            "means": None if self.means is None else self.means.tolist(),
            "stds": None if self.stds is None else self.stds.tolist(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Reinhard":
        config = dict(config)
        means, stds = config.pop("means", None), config.pop("stds", None)
        norm = cls(**config)
        if means is not None:
            norm.means = np.asarray(means, dtype=np.float64).reshape(3)
            norm.stds = np.asarray(stds, dtype=np.float64).reshape(3)
            if not (np.all(np.isfinite(norm.means)) and np.all(norm.stds > 0)):
                raise ValueError(f"reinhard: saved means {means!r} / stds {stds!r} must be finite, stds > 0.")
        return norm


def _to_lab(image: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float32 LAB (L in 0..100, a and b in about -127..127)."""
    return cv2.cvtColor(image.astype(np.float32) * np.float32(1.0 / 255.0), cv2.COLOR_RGB2LAB)


def _lab_stats(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    means, stds = cv2.meanStdDev(lab)
    return means.ravel().astype(np.float64), stds.ravel().astype(np.float64)
