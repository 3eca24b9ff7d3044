"""Paired comparisons of two benchmark entries: the difference, its 95 % interval, a verdict.

Two entries are compared only where both ran on the same test fold with the same seed
(the same training, validation and test images, the same sampling seed): a pair. The
difference of a score is averaged over the pairs; its 95 % confidence interval is the
percentile interval of 10,000 bootstrap resamples of the pairs, and its p-value that of
the exact two-sided sign-flip test (every pair's sign flipped in all ``2^n`` ways; Monte
Carlo above 16 pairs), which asks how often a mean difference this large arises when the
sign of each pair is a coin toss.

The verdict is ``better`` or ``worse`` only when the interval excludes 0 *and* p < 0.05,
else ``no evidence either way``. With fewer than 6 pairs no verdict can be reached at all:
the sign-flip test's smallest p-value is ``2 / 2^n`` (0.0625 for 5 pairs), and a bootstrap
interval of 4 pairs that all point one way excludes 0 although that happens by chance one
time in 8. The seeds of one fold share its test images, so pairs are not fully independent;
the intervals are read as a guide, not as exact coverage.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["MIN_PAIRS", "describe", "paired_difference", "sign_flip_p"]

# The smallest number of pairs for which the sign-flip test can reach p < 0.05 (2 / 2^6).
MIN_PAIRS = 6
BOOTSTRAP_SAMPLES = 10_000
# Up to 2^16 sign patterns are enumerated; beyond, as many random ones are drawn.
_EXACT_UP_TO = 16


def paired_difference(
    entry: Mapping[Any, float | None],
    reference: Mapping[Any, float | None],
    *,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """The paired difference ``entry - reference`` over the keys both have a value for.

    Args:
      entry, reference: pair key (e.g. ``(seed, fold)``) -> score; ``None`` (a class absent
        from that fold's test images) leaves the pair out.
      seed: seeds the bootstrap, so the same numbers give the same interval.
      confidence: of the interval (default 95 %).

    Returns:
      ``n`` (pairs), ``mean``, ``low``, ``high`` (the interval), ``p`` (sign-flip test),
      ``verdict`` (``better``, ``worse``, ``no evidence either way`` or ``too few pairs``)
      and ``pairs`` (key -> difference); the numbers are ``None`` without pairs.
    """
    keys = [k for k in entry if k in reference and entry[k] is not None and reference[k] is not None]
    diffs = np.array([float(entry[k]) - float(reference[k]) for k in keys])
    out: dict[str, Any] = {"n": len(keys), "pairs": {str(k): float(d) for k, d in zip(keys, diffs)}}
    if not keys:
        return {**out, "mean": None, "low": None, "high": None, "p": None, "verdict": "too few pairs"}
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), size=(BOOTSTRAP_SAMPLES, len(diffs)))].mean(axis=1)
    tail = (1.0 - confidence) / 2 * 100
    low, high = (float(v) for v in np.percentile(means, [tail, 100 - tail]))
    p = sign_flip_p(diffs, rng=rng)
    if len(keys) < MIN_PAIRS:
        verdict = "too few pairs"
    elif low > 0 and p < 1.0 - confidence:
        verdict = "better"
    elif high < 0 and p < 1.0 - confidence:
        verdict = "worse"
    else:
        verdict = "no evidence either way"
    return {**out, "mean": float(diffs.mean()), "low": low, "high": high, "p": p, "verdict": verdict}


def sign_flip_p(diffs: Sequence[float] | np.ndarray, *, rng: np.random.Generator) -> float:
    """Two-sided p-value of the paired sign-flip (permutation) test of a zero mean difference."""
    diffs = np.asarray(diffs, np.float64)
    n = len(diffs)
    observed = abs(diffs.mean())
    if n <= _EXACT_UP_TO:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
    else:
        signs = rng.choice((1.0, -1.0), size=(2**_EXACT_UP_TO, n))
    flipped = np.abs((signs * diffs).mean(axis=1))
    # A tolerance, so that the observed pattern itself always counts as "as large".
    return float(np.mean(flipped >= observed - 1e-12 * max(1.0, observed)))


def describe(comparison: Mapping[str, Any]) -> str:
    """``+0.031 [-0.010, +0.072], p 0.31, n 8: no evidence either way`` for a table cell."""
    if comparison.get("mean") is None:
        return "no pairs"
    text = (
        f"{comparison['mean']:+.3f} [{comparison['low']:+.3f}, {comparison['high']:+.3f}], "
        f"p {comparison['p']:.2f}, n {comparison['n']}: "
    )
    if comparison["verdict"] == "too few pairs":
        return text + f"too few pairs for a verdict (needs {MIN_PAIRS})"
    return text + comparison["verdict"]
