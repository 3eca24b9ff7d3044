"""Train/validation splits by image or patient/slide group, never by tiles of one image.

A sample's ``group`` (its name, or the id a source's ``group_pattern`` parses from it) is
the unit: all samples of a group land on the same side, so no tissue seen in training is
validated on. Splits return sample indices, to be used with :meth:`DataSource.subset`,
before any tiles are cut.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lggseg.data.source import DataSource

__all__ = ["split_by_group", "split_by_names"]


# Stratification compares this many seeded shuffles: plenty for tens of groups, and cheap
# (a few hundred numbers per candidate).
_CANDIDATES = 64


def split_by_group(
    source_or_groups: DataSource | Sequence[str],
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of whole groups into training and validation.

    ``round(val_fraction * number_of_groups)`` groups (at least 1, at most all but 1) go to
    validation: the first ones of a shuffle seeded with ``seed``. With ``stratify`` and a
    source, 64 seeded shuffles are compared and the first one wins that (1) leaves the
    fewest classes under-represented, i.e. with less than half of its fair share of that
    class's pixels in validation or in training (fair share: the side's share of all
    pixels), then (2) has the smallest largest deviation of a class's validation share from
    the fair share. So a rare class found in several groups lands on both sides where
    possible, and one found in a single group stays in training.

    Args:
      source_or_groups: a :class:`DataSource` (its ``groups`` and masks are used), or one
        group label per sample.
      val_fraction: share of the groups for validation, in (0, 1).
      seed: shuffles the groups; the same inputs and seed give the same split.
      stratify: balance the classes using the source's masks; ignored when only group
        labels are given.

    Returns:
      ``(train_indices, val_indices)``: sorted int64 sample indices, disjoint, covering all.

    Raises:
      ValueError: when there are fewer than 2 groups, or ``val_fraction`` is not in (0, 1).
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}.")
    is_source = isinstance(source_or_groups, DataSource)
    groups = [str(g) for g in (source_or_groups.groups if is_source else source_or_groups)]
    labels = sorted(set(groups))
    if len(labels) < 2:
        raise ValueError(
            f"A train/validation split needs at least 2 groups (images or patients), got "
            f"{len(labels)} ({', '.join(labels[:3]) or 'no samples'}). Add images, or use a "
            f"finer group_pattern (None makes every image its own group)."
        )
    position = {g: i for i, g in enumerate(labels)}
    sample_group = np.array([position[g] for g in groups])
    n_val = int(min(max(round(val_fraction * len(labels)), 1), len(labels) - 1))
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(len(labels))[:n_val]
    if is_source and stratify:
        group_pixels = np.zeros((len(labels), source_or_groups.scheme.num_classes), np.int64)
        np.add.at(group_pixels, sample_group, source_or_groups.class_histograms())
        best = _imbalance(group_pixels, chosen)
        for _ in range(_CANDIDATES - 1):
            candidate = rng.permutation(len(labels))[:n_val]
            cost = _imbalance(group_pixels, candidate)
            if cost < best:
                chosen, best = candidate, cost
    is_val = np.isin(sample_group, chosen)
    return np.flatnonzero(~is_val).astype(np.int64), np.flatnonzero(is_val).astype(np.int64)


def _imbalance(group_pixels: np.ndarray, val_groups: np.ndarray) -> tuple[int, float]:
    """(under-represented classes, largest deviation from the fair share) of one split."""
    total = group_pixels.sum(axis=0)
    present = total > 0
    val_share = group_pixels[val_groups].sum(axis=0)[present] / total[present]
    fair = group_pixels[val_groups].sum() / max(int(total.sum()), 1)
    under = (val_share < fair / 2) | (1.0 - val_share < (1.0 - fair) / 2)
    return int(under.sum()), float(np.abs(val_share - fair).max())


def split_by_names(source: DataSource, *, val_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """A fixed split: the samples named in ``val_names`` validate, all others train.

    Raises:
      ValueError: naming unknown names (with examples of valid ones), when ``val_names``
        is empty or names every sample, or when a group would straddle both sides.
    """
    if isinstance(val_names, str):
        raise ValueError(f"val_names must be a list of names, got the single string {val_names!r}.")
    names = source.names
    wanted = list(val_names)
    if not wanted:
        raise ValueError("val_names is empty; name at least one sample for validation.")
    known = set(names)
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(
            f"Unknown sample names in val_names: {unknown[:10]}; the source has {len(names)} "
            f"samples, e.g. {', '.join(names[:5])}."
        )
    chosen = set(wanted)
    is_val = np.array([n in chosen for n in names])
    if is_val.all():
        raise ValueError("val_names names every sample; leave at least one for training.")
    groups = np.array(source.groups, dtype=object)
    straddling = sorted(set(groups[is_val]) & set(groups[~is_val]))
    if straddling:
        raise ValueError(
            f"Groups {straddling[:5]} have samples on both sides of this split (leakage); "
            f"add all of a group's samples to val_names, or none."
        )
    return np.flatnonzero(~is_val).astype(np.int64), np.flatnonzero(is_val).astype(np.int64)
