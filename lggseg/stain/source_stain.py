"""lggseg's one stain-normalisation policy: one estimate per image, applied to all of it.

**Policy.** A normaliser estimates the stain of an image (the source stain: Macenko's and
staintools' stain vectors and 99th-percentile concentrations, Reinhard's LAB means and
standard deviations) *once*, from :func:`stain_sample` of that image, and every region or
tile of the image is transformed with that one :class:`SourceStain`; for a whole-slide
image the "image" is the pyramid level being predicted. Training
(:class:`~lggseg.training.pipeline.TileDataset`), image prediction
(:meth:`~lggseg.evaluation.sliding_window.SlidingWindowPredictor.normalize`) and slide
prediction (:func:`~lggseg.slides.predict.estimate_slide_stain`) all follow it, so the same
region gets the same normalised pixels on each (up to one grey level: float32 rounding of
the same per-pixel maths before the uint8 cast). ``tests/stain/test_source_stain_policy.py``
checks that.

Why one estimate per image: given an estimate, every method here is a per-pixel function,
so a tile cut from a normalised image equals the tile normalised with the image's estimate;
estimates taken per tile or per batch instead vary with the tile's content, so overlapping
tiles would map the same pixel differently (seams), and background-only tiles, which have
no stain to estimate, would pass through unnormalised while the same glass inside a
normalised image does not.

The sample (:func:`stain_sample`). An image of at most :data:`STAIN_SAMPLE_PIXELS` pixels
(2048^2: the 1024^2 IvyGAP images lggseg trains and evaluates on, and slides
predicted at a low-resolution level) is estimated from all its pixels, exactly as
``transform(image)`` always did. A larger one (a slide's full-resolution level) is
estimated from a lattice of 256 x 256 blocks evenly spread over it, of about the same
number of pixels in all. The sample is at the resolution being transformed, not a
thumbnail: averaging pixels mixes H and E, which narrows Macenko's stain angles and lowers
its concentration maxima, so a thumbnail's estimate would systematically mis-scale the
full-resolution tiles it is applied to (and the reference was fitted at full resolution).
It is an even lattice rather than tissue blocks only, so that it is an unbiased subsample
of the whole image, glass included: Macenko's 99th percentile and Reinhard's statistics
are over all pixels (as in the papers), and so the estimate approximates the whole-image
one the smaller images get. The same function reads an in-memory array and a slide level,
so the two agree exactly where their pixels do. Memory is bounded by the sample, never by
the slide.

Normalisers that estimate nothing per image (``none``) return an empty estimate.
An image whose stain cannot be estimated (no tissue, degenerate stains) gets an estimate
with a ``reason``: all of it then passes through unchanged and is counted, as a tile did
before. The two-step API is :meth:`StainNormalizer.estimate_source` and
``StainNormalizer.transform(images, source=...)``; ``transform(images)`` without a source
estimates each image by this policy and applies it, so ``fit`` / ``transform`` code and
saved ``normalizer.json`` files work unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["STAIN_SAMPLE_PIXELS", "SourceStain", "image_reader", "stain_sample"]

# 2048^2 pixels: ~0.3 s and ~0.3 GB of float32 intermediates for Macenko on 2 cores, a fixed
# cost per slide; and larger than the images lggseg trains and evaluates on, which
# therefore keep their exact whole-image estimates.
STAIN_SAMPLE_PIXELS = 2048 * 2048
# Block side of the lattice: the training tile size, a few JPEG tiles of a slide per read.
_SAMPLE_BLOCK = 256

# read(x=, y=, width=, height=) -> (height, width, 3) uint8 pixels of an image or slide level.
RegionReader = Callable[..., np.ndarray]


@dataclasses.dataclass(frozen=True)
class SourceStain:
    """The stain of one image, estimated once by a normaliser (see the module docstring).

    Attributes:
      method: the normaliser's registry name; only a normaliser of this method applies it.
      parameters: the method's estimate, e.g. Macenko's ``stain_matrix`` ``(2, 3)`` and
        ``max_concentrations`` ``(2,)``; empty for ``none``.
      reason: ``None`` when usable, else why the image cannot be normalised (every region
        of it then passes through unchanged).
      pixels: how many pixels the estimate was taken from.
    """

    method: str
    parameters: dict[str, np.ndarray]
    reason: str | None
    pixels: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable record (e.g. for a slide's outputs)."""
        return {
            "method": self.method,
            "parameters": {k: np.asarray(v).tolist() for k, v in self.parameters.items()},
            "reason": self.reason,
            "pixels": self.pixels,
        }


def image_reader(image: np.ndarray) -> RegionReader:
    """The :data:`RegionReader` of an in-memory ``(H, W, 3)`` image (views, no copies)."""

    def read(*, x: int, y: int, width: int, height: int) -> np.ndarray:
        return image[y:y + height, x:x + width]

    return read


def stain_sample(
    *, height: int, width: int, read: RegionReader, max_pixels: int = STAIN_SAMPLE_PIXELS
) -> np.ndarray:
    """The pixels an image's stain is estimated from: all of them, or an even lattice of blocks.

    Args:
      height, width: the image's (slide level's) size.
      read: ``read(x=, y=, width=, height=)`` -> uint8 ``(height, width, 3)`` pixels.
      max_pixels: images with at most this many pixels are used whole.

    Returns:
      ``(h, w, 3)`` uint8: the image itself, or its blocks stacked vertically (methods
      here use pixel statistics only, so the arrangement does not matter).
    """
    if height < 1 or width < 1:
        raise ValueError(f"stain_sample: the image must be at least 1x1, got {width}x{height}.")
    if max_pixels < 1:
        raise ValueError(f"stain_sample: max_pixels={max_pixels} must be >= 1.")
    if height * width <= max_pixels:
        return np.asarray(read(x=0, y=0, width=width, height=height))
    bh, bw = min(_SAMPLE_BLOCK, height), min(_SAMPLE_BLOCK, width)
    blocks = max(1, max_pixels // (bh * bw))
    # Rows and columns in proportion to the image's shape, never more than fit side by side.
    ny = max(1, min(height // bh, round(math.sqrt(blocks * height / width))))
    nx = max(1, min(width // bw, blocks // ny))
    ys = [_spread(i, ny, height, bh) for i in range(ny)]
    xs = [_spread(i, nx, width, bw) for i in range(nx)]
    return np.concatenate([np.asarray(read(x=x, y=y, width=bw, height=bh)) for y in ys for x in xs], axis=0)


def _spread(i: int, n: int, length: int, size: int) -> int:
    """Origin of block ``i`` of ``n`` centred in equal parts of ``length``."""
    return min(max(int(round((i + 0.5) * length / n - size / 2)), 0), length - size)
