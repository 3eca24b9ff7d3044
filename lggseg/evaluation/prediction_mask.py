"""Which pixels a prediction may give a tissue class: tissue that is not pen or marker ink.

A network trained on stained tissue has no class for glass or ink, so it names them with
whatever they resemble: the black marker of W30-1-1-C.01 comes out as IT. Every prediction
path (images through ``lggseg predict``, slides through :func:`lggseg.slides.predict_slide`)
therefore passes its class map through one :class:`PredictionMask`: pixels the tissue rule
(:func:`lggseg.data.detect_tissue`, HSV or Otsu) calls glass, and pixels
:func:`lggseg.data.ink.detect_ink` calls ink, become Background, and the counts of both are
reported. Images are masked at their own resolution; slides at the resolution of the
thumbnail their tissue is found on (at most 2048 pixels a side by default), looked up per
pixel of the processing level.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lggseg.classes import ClassScheme
from lggseg.data.ink import detect_ink
from lggseg.data.tissue import TISSUE_METHODS, detect_tissue

__all__ = ["Excluded", "PredictionMask"]


@dataclasses.dataclass(frozen=True)
class Excluded:
    """The pixels a prediction leaves to Background, and why.

    Attributes:
      non_tissue: ``(H, W)`` bool, glass or background by the tissue rule.
      ink: ``(H, W)`` bool, pen or marker ink (and folds dark enough to hide their cells).
    """

    non_tissue: np.ndarray
    ink: np.ndarray

    @property
    def any(self) -> np.ndarray:
        return self.non_tissue | self.ink

    def at(self, rows: np.ndarray, cols: np.ndarray) -> "Excluded":
        """The masks looked up at ``rows x cols`` (integer indices): nearest-neighbour resampling."""
        grid = np.ix_(rows, cols)
        return Excluded(non_tissue=self.non_tissue[grid], ink=self.ink[grid])

    def counts(self) -> dict[str, int]:
        """Pixels excluded as ink, and as non-tissue that is not ink (each pixel counted once)."""
        ink = int(self.ink.sum())
        return {"ink": ink, "non_tissue": int(self.any.sum()) - ink}


@dataclasses.dataclass(frozen=True, kw_only=True)
class PredictionMask:
    """Background outside tissue and on ink, applied to a predicted class map.

    Args:
      tissue: the tissue rule, ``'hsv'`` or ``'otsu'`` (:func:`lggseg.data.detect_tissue`), or
        ``None``: every pixel is tissue.
      ink: leave pen and marker ink to Background (:func:`lggseg.data.ink.detect_ink`).
    """

    tissue: str | None = "hsv"
    ink: bool = True

    def __post_init__(self) -> None:
        if self.tissue is not None and self.tissue not in TISSUE_METHODS:
            raise ValueError(
                f"PredictionMask: tissue={self.tissue!r}; choose one of {', '.join(TISSUE_METHODS)} or None."
            )

    @property
    def active(self) -> bool:
        return self.tissue is not None or self.ink

    def background(self, scheme: ClassScheme) -> int:
        """The index excluded pixels get: the scheme's Background (checked before any prediction)."""
        index = scheme.background_index
        if index is None and self.active:
            raise ValueError(
                f"The model's classes ({', '.join(scheme.codes)}) have no Background (code BG) for masked glass "
                f"and ink; predict with --tissue-mask none --no-ink-mask (PredictionMask(tissue=None, ink=False))."
            )
        return 0 if index is None else index

    def excluded(self, image: np.ndarray) -> Excluded:
        """The pixels of a uint8 RGB ``image`` (an image, or a slide's thumbnail) to leave to Background."""
        shape = image.shape[:2]
        non_tissue = ~detect_tissue(image, method=self.tissue) if self.tissue else np.zeros(shape, bool)
        ink = detect_ink(image) if self.ink else np.zeros(shape, bool)
        return Excluded(non_tissue=non_tissue, ink=ink)

    @staticmethod
    def apply(classes: np.ndarray, excluded: Excluded, *, background: int) -> np.ndarray:
        """``classes`` (an ``(H, W)`` class-index map) with the excluded pixels set to ``background``."""
        if classes.shape != excluded.non_tissue.shape:
            raise ValueError(f"class map {classes.shape} and exclusion mask {excluded.non_tissue.shape} differ in shape.")
        return np.where(excluded.any, np.asarray(background, classes.dtype), classes)

    @staticmethod
    def apply_to_probabilities(probs: np.ndarray, excluded: Excluded, *, background: int) -> np.ndarray:
        """``probs`` ``(H, W, C)`` with the excluded pixels certain of ``background``, as the class map says.

        Float probabilities get 1.0; integer ones (the slides' uint8 ``round(p * 255)``) the dtype's maximum.
        """
        certain = np.zeros(probs.shape[-1], probs.dtype)
        certain[background] = np.iinfo(probs.dtype).max if np.issubdtype(probs.dtype, np.integer) else 1
        return np.where(excluded.any[..., None], certain, probs)
