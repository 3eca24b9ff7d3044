"""The stain-normaliser interface shared by every method.

As in torchstain: :meth:`StainNormalizer.fit` on a reference image, then
:meth:`StainNormalizer.transform` on one ``(H, W, 3)`` image or a ``(B, H, W, 3)`` batch.
Between them, the two steps of lggseg's one normalisation policy (stated in
:mod:`lggseg.stain.source_stain`): :meth:`StainNormalizer.estimate_source` estimates an
image's stain once, and ``transform(regions, source=estimate)`` applies that estimate to
any region of it. Input and output are always uint8 RGB. Fitted parameters round-trip
through a JSON file (:meth:`save` / :func:`load_normalizer`) so that a run's normaliser is
reused unchanged at evaluation and prediction time.
"""

from __future__ import annotations

import abc
import json
from pathlib import Path
from typing import Any

import numpy as np

from lggseg.atomic_write import atomic_write
from lggseg.data.image_checks import check_rgb
from lggseg.stain.source_stain import STAIN_SAMPLE_PIXELS, RegionReader, SourceStain, image_reader, stain_sample


class StainNormalizer(abc.ABC):
    """Fit on a reference, then transform images to its stain.

    Subclasses set ``method`` (the registry name) and implement :meth:`fit`,
    :meth:`_estimate_source` (one image's stain), :meth:`_apply_source` (a batch of
    regions with one fixed estimate), :meth:`get_config` and :meth:`from_config`; they may
    override :meth:`_transform_batch` (each image with its own estimate) with a faster
    batched version of the same maths.

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

    def estimate_source(self, image: np.ndarray) -> SourceStain:
        """The stain of one ``(H, W, 3)`` uint8 image, from its :func:`~lggseg.stain.source_stain.stain_sample`."""
        image = check_rgb(image, what=self.method)
        return self.estimate_region_source(height=image.shape[0], width=image.shape[1], read=image_reader(image))

    def estimate_region_source(self, *, height: int, width: int, read: RegionReader) -> SourceStain:
        """The stain of an image known only through ``read(x=, y=, width=, height=)`` (a slide level)."""
        self._check_fitted()
        sample = stain_sample(height=height, width=width, read=read)
        sample = check_rgb(sample, what=f"{self.method}: read()")
        return self._estimate_source(sample)

    def transform(self, images: np.ndarray, *, source: SourceStain | None = None) -> np.ndarray:
        """Normalise ``(H, W, 3)`` or ``(B, H, W, 3)`` uint8 RGB; returns the same shape, uint8.

        Args:
          images: one image or a batch.
          source: ``None``: each image is one whole image, estimated by itself (the policy of
            :mod:`lggseg.stain.source_stain`); else the estimate of the image these are
            regions of (:meth:`estimate_source`), applied to every one of them.
        """
        images = check_rgb(images, what=self.method, batch=None)
        self._check_fitted()
        single = images.ndim == 3
        batch = images[None] if single else images
        if source is not None:
            if not isinstance(source, SourceStain) or source.method != self.method:
                got = source.method if isinstance(source, SourceStain) else type(source).__name__
                raise ValueError(f"{self.method}: source must be a SourceStain estimated by {self.method}, got {got}.")
            out, reasons = self._apply_or_pass(batch, source)
            self._record(reasons)
        elif batch.shape[1] * batch.shape[2] <= STAIN_SAMPLE_PIXELS:
            out = self._transform_batch(batch)  # the sample of each image is all of it
        else:
            out, reasons = np.empty_like(batch), []
            for i, image in enumerate(batch):
                applied, (reason,) = self._apply_or_pass(image[None], self.estimate_source(image))
                out[i] = applied[0]
                reasons.append(reason)
            self._record(reasons)
        return out[0] if single else out

    def _apply_or_pass(self, batch: np.ndarray, source: SourceStain) -> tuple[np.ndarray, list[str | None]]:
        """Regions of one image with its estimate; all unchanged when it is unusable."""
        if source.reason is not None:
            return batch.copy(), [source.reason] * batch.shape[0]
        return self._apply_source(batch, source)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise ValueError(f"{self.method}: call fit(reference) (or load a fitted normaliser) first.")

    @abc.abstractmethod
    def _estimate_source(self, sample: np.ndarray) -> SourceStain:
        """``(h, w, 3)`` uint8 pixels of one image -> its estimate (with a reason when unusable)."""

    @abc.abstractmethod
    def _apply_source(self, batch: np.ndarray, source: SourceStain) -> tuple[np.ndarray, list[str | None]]:
        """``(B, h, w, 3)`` uint8 regions of one image and its usable estimate -> uint8, per-region reasons."""

    def _transform_batch(self, batch: np.ndarray) -> np.ndarray:
        """``(B, H, W, 3)`` uint8 -> uint8, each image with its own estimate; updates the counters."""
        out = np.empty_like(batch)
        reasons: list[str | None] = []
        for i, image in enumerate(batch):
            applied, (reason,) = self._apply_or_pass(image[None], self._estimate_source(image))
            out[i] = applied[0]
            reasons.append(reason)
        self._record(reasons)
        return out

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
        with atomic_write(path) as tmp:
            tmp.write_text(json.dumps(record, indent=2))
        return path
