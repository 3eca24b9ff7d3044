"""Choosing the stain reference from the training images by a documented rule.

Rules:

* ``median-stain`` (default): the image whose Macenko H and E vectors are closest (sum of
  the two angles) to the per-component median of all images' vectors, renormalised: the
  most typical stain of the set, robust to a few odd slides.
* ``most-tissue``: the image with the largest share of tissue pixels (OD >= 0.15 in every
  channel): the most stain to estimate from.

Images whose stains cannot be estimated (background, degenerate) are never chosen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lggseg.stain._optical_density import tissue_mask
from lggseg.stain.macenko import Macenko

REFERENCE_RULES = ("median-stain", "most-tissue")


def choose_reference(images, *, rule: str = "median-stain") -> int:
    """Index of the reference image among ``images`` under ``rule``.

    Args:
      images: a :class:`~lggseg.data.source.DataSource` (its samples' images) or a
        sequence of uint8 RGB ``(H, W, 3)`` arrays (sizes may differ).
      rule: one of :data:`REFERENCE_RULES` (see the module docstring).

    Returns:
      The index; the caller records ``source[index].name`` as the reference name.

    Raises:
      ValueError: for an unknown rule, an empty input, or when no image has usable stains.
    """
    if rule not in REFERENCE_RULES:
        raise ValueError(f"unknown reference rule {rule!r}; valid rules: {', '.join(REFERENCE_RULES)}.")
    arrays = [getattr(item, "image", item) for item in images]
    if not arrays:
        raise ValueError("choose_reference: no images to choose from.")
    macenko = Macenko()
    stains: list[np.ndarray | None] = []
    for image in arrays:
        est = macenko.estimate(np.asarray(image)[None])
        stains.append(est.stain_matrix[0] if est.reasons[0] is None else None)
    usable = [i for i, s in enumerate(stains) if s is not None]
    if not usable:
        raise ValueError(f"choose_reference: none of the {len(arrays)} images has usable H and E stains.")
    if rule == "most-tissue":
        shares = [float(np.mean(tissue_mask(arrays[i], beta=macenko.beta))) for i in usable]
        return usable[int(np.argmax(shares))]
    return usable[int(np.argmin(_median_distances([stains[i] for i in usable])))]


def _median_distances(stains: Sequence[np.ndarray]) -> np.ndarray:
    """Sum of H and E angles (degrees) of each ``(2, 3)`` stain matrix to the median one."""
    stack = np.stack(stains).astype(np.float64)
    median = np.median(stack, axis=0)
    median /= np.linalg.norm(median, axis=1, keepdims=True)
    cos = np.clip(np.einsum("nsc,sc->ns", stack, median), -1.0, 1.0)
    return np.degrees(np.arccos(cos)).sum(axis=1)
