"""Percentiles by partial sorting, the hot part of Macenko's stain estimate (numpy only).

``np.percentile`` sorts; one ``np.partition`` per percentile plus a minimum of the rest
gives the same linear-interpolated value several times faster on the millions of tissue
pixels of an image (``benchmarks/stain_normalization.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["angle_percentiles", "top_percentile"]


def angle_percentiles(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[float, float]:
    """The ``alpha`` and ``100 - alpha`` percentiles of ``arctan2(y, x)`` (linear interpolation).

    Order statistics need only a monotone function of the angle: ``y / x`` when every
    ``x > 0`` (tissue OD projected on the principal axis, the usual case), which is
    cheaper than arctan2; the two neighbouring order statistics are then converted.
    """
    if x.min() > 0:
        ratio = y / x
        lo, hi = _order_percentiles(ratio, (alpha, 100.0 - alpha))
        return float(_interp(np.arctan(lo), alpha, x.shape[0])), float(_interp(np.arctan(hi), 100.0 - alpha, x.shape[0]))
    angles = np.arctan2(y, x)
    lo, hi = _order_percentiles(angles, (alpha, 100.0 - alpha))
    return float(_interp(lo, alpha, x.shape[0])), float(_interp(hi, 100.0 - alpha, x.shape[0]))


def _order_percentiles(values: np.ndarray, qs: tuple[float, ...]) -> list[np.ndarray]:
    """For each q, the two order statistics ``(v[lo], v[lo + 1])`` around rank ``q/100 (n-1)``.

    One single-k partition each (numpy's SIMD selection; several k at once are slower)
    plus a min of the remainder.
    """
    n = values.shape[0]
    out = []
    for q in qs:
        lo = int(np.floor(q / 100.0 * (n - 1)))
        part = np.partition(values, lo)
        nxt = part[lo + 1 :].min() if lo + 1 < n else part[lo]
        out.append(np.array([part[lo], nxt], dtype=np.float64))
    return out


def _interp(pair: np.ndarray, q: float, n: int) -> float:
    rank = q / 100.0 * (n - 1)
    frac = rank - np.floor(rank)
    return pair[0] + frac * (pair[1] - pair[0])


def top_percentile(values: np.ndarray, q: float) -> np.ndarray:
    """``np.percentile(values, q, axis=-1)`` (linear interpolation) for q >= 50, via one partition."""
    n = values.shape[-1]
    rank = q / 100.0 * (n - 1)
    lo = int(np.floor(rank))
    part = np.partition(values, lo, axis=-1)
    low = part[..., lo].astype(np.float64)
    high = part[..., lo + 1 :].min(axis=-1).astype(np.float64) if lo + 1 < n else low
    return low + (rank - lo) * (high - low)
