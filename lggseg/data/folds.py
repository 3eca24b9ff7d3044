"""Cross-validation folds of whole groups (tissue blocks, patients), the test side of a split.

Serial sections of one tissue block are near-duplicates: a block on both sides of a split
turns test scores into recall on what the model was trained on. :func:`assign_folds` deals
whole groups (a source's ``groups``, e.g. IvyGAP blocks parsed by ``group_pattern``
``r'^(W\\d+-\\d+-\\d+-[A-Z])'``) into ``folds`` folds, seeded, so that every class held by
several groups is tested in as many folds as it can be; :func:`cv_fold` returns one fold as
the test side and the rest, which the trainer then splits into training and validation
groups with its ``splitter``. The same source, number of folds and seed always give the
same assignment, so every job of a benchmark sees the same folds (the trainer records them
in ``split.json`` and the benchmark's results check that they agree).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from lggseg.data.source import DataSource

__all__ = ["FoldSplit", "assign_folds", "cv_fold"]

# Candidate assignments compared: a few hundred for ~10 groups in ~4 folds, each cheap.
_CANDIDATES = 256
# A group holds a class when it has at least this share of the class's pixels: specks along
# annotation edges (IvyGAP: 0.5 % of all LE in one block) do not make a block a test of LE.
_HOLDS_SHARE = 0.01


@dataclasses.dataclass(frozen=True)
class FoldSplit:
    """One fold of a cross-validation: the test samples and the others, by index."""

    fold: int
    folds: int
    seed: int
    rest: np.ndarray
    test: np.ndarray
    assignment: Mapping[str, int]

    def record(self) -> dict:
        """What ``split.json`` keeps: the fold, the seed and every group's fold."""
        return {"fold": self.fold, "folds": self.folds, "seed": self.seed, "assignment": dict(self.assignment)}


def assign_folds(source: DataSource, *, folds: int, seed: int = 0) -> dict[str, int]:
    """Deal the source's groups into ``folds`` folds of whole groups.

    Groups are dealt round-robin from seeded shuffles (so fold sizes differ by at most one
    group); of ``256`` shuffles the first one wins that (1) tests each class in the most
    folds (a class held by ``g`` groups can be tested in ``min(g, folds)`` folds; a group
    holds a class when it has at least 1 % of the class's pixels), then (2) spreads the
    images most evenly (the largest fold's image count). A class found in a single group is
    tested in one fold and trained on in all others.

    Returns:
      group -> fold index in ``0 .. folds - 1``, groups in sorted order.

    Raises:
      ValueError: ``folds < 2``, or fewer groups than folds.
    """
    labels = sorted(set(source.groups))
    if int(folds) < 2:
        raise ValueError(f"Cross-validation needs at least 2 folds, got folds={folds}.")
    if len(labels) < folds:
        raise ValueError(
            f"{folds} folds need at least {folds} groups, but the source has {len(labels)} "
            f"({', '.join(labels[:8])}); use fewer folds, or a finer group_pattern."
        )
    position = {g: i for i, g in enumerate(labels)}
    sample_group = np.array([position[g] for g in source.groups])
    group_pixels = np.zeros((len(labels), source.scheme.num_classes), np.int64)
    np.add.at(group_pixels, sample_group, source.class_histograms())
    holds = (group_pixels > 0) & (group_pixels >= _HOLDS_SHARE * group_pixels.sum(axis=0))
    images = np.bincount(sample_group, minlength=len(labels))
    rng = np.random.default_rng(seed)
    best, best_cost = None, None
    for _ in range(_CANDIDATES):
        fold_of = np.empty(len(labels), np.int64)
        fold_of[rng.permutation(len(labels))] = np.arange(len(labels)) % folds
        cost = _cost(fold_of, holds=holds, images=images, folds=folds)
        if best_cost is None or cost < best_cost:
            best, best_cost = fold_of, cost
    return {g: int(best[i]) for i, g in enumerate(labels)}


def _cost(fold_of: np.ndarray, *, holds: np.ndarray, images: np.ndarray, folds: int) -> tuple[int, int]:
    """(folds short of testing every class as often as it can be tested, largest fold's images)."""
    tested = np.zeros((folds, holds.shape[1]), bool)
    np.logical_or.at(tested, fold_of, holds)
    short = np.minimum(holds.sum(axis=0), folds) - tested.sum(axis=0)
    return int(short.sum()), int(np.bincount(fold_of, weights=images, minlength=folds).max())


def cv_fold(source: DataSource, *, folds: int = 4, fold: int = 0, seed: int = 0) -> FoldSplit:
    """Fold ``fold`` of :func:`assign_folds` as the test side; the trainer's ``test_fold``.

    Bind it as ``train.test_fold = @cv_fold`` with ``cv_fold.folds``, ``cv_fold.fold`` and
    ``cv_fold.seed``; the benchmark runner does this for each fold of a suite with ``folds``.

    Raises:
      ValueError: ``fold`` outside ``0 .. folds - 1`` (and see :func:`assign_folds`).
    """
    if not 0 <= int(fold) < int(folds):
        raise ValueError(f"cv_fold.fold must lie in 0..{folds - 1} for {folds} folds, got {fold}.")
    assignment = assign_folds(source, folds=folds, seed=seed)
    is_test = np.array([assignment[g] == fold for g in source.groups])
    return FoldSplit(
        fold=int(fold), folds=int(folds), seed=int(seed),
        rest=np.flatnonzero(~is_test).astype(np.int64), test=np.flatnonzero(is_test).astype(np.int64),
        assignment=assignment,
    )

