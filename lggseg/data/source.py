"""The data-source interface: images and index masks, held in memory, with metadata.

Every source (a folder of image + mask pairs, cropped region images, the synthetic
generator, slides) yields :class:`Sample` objects: a uint8 RGB image ``(H, W, 3)`` and a
uint8 index mask ``(H, W)`` in the source's :class:`~lggseg.classes.ClassScheme`, where
:data:`~lggseg.classes.IGNORE_INDEX` (255) marks unlabelled pixels.
Sources validate everything when they are opened, so that a bad file fails before
training starts, never halfway through a run.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import numpy as np

from lggseg.classes import IGNORE_INDEX, ClassMapping, ClassScheme, apply_lookup, check_index_mask
from lggseg.data.image_checks import check_rgb


@dataclasses.dataclass(frozen=True)
class Sample:
    """One annotated image.

    Attributes:
      image: ``(H, W, 3)`` uint8 RGB.
      mask: ``(H, W)`` uint8 class indices in the source's scheme, or
        :data:`~lggseg.classes.IGNORE_INDEX` for unlabelled pixels.
      name: the file stem (or a generated name), unique within a source.
      group: the unit a train/validation split keeps together (patient or slide id);
        defaults to ``name``.
    """

    image: np.ndarray
    mask: np.ndarray
    name: str
    group: str = ""

    def __post_init__(self):
        check_rgb(self.image, what=f"{self.name}: image")
        if self.mask.shape != self.image.shape[:2]:
            raise ValueError(
                f"{self.name}: mask shape {self.mask.shape} differs from image shape {self.image.shape[:2]}."
            )
        if not self.group:
            object.__setattr__(self, "group", self.name)


class DataSource(Sequence[Sample]):
    """An in-memory, indexable collection of samples sharing one class scheme.

    Subclasses fill ``self._samples`` and ``self.scheme`` in their constructor (after
    validating every file). The per-image class histograms that samplers need are
    computed once, here.
    """

    scheme: ClassScheme
    _samples: list[Sample]
    # Sources that resample their files or know their resolution set these (lggseg.data.resolution).
    scale: float = 1.0
    mpp: float | None = None

    def __init__(self, *, samples: Sequence[Sample], scheme: ClassScheme):
        if len(samples) == 0:
            raise ValueError("A data source needs at least one sample.")
        names = [s.name for s in samples]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"Sample names must be unique; repeated: {dupes[:10]}.")
        for s in samples:
            check_index_mask(
                s.mask,
                num_classes=scheme.num_classes,
                what=f"{s.name}: the mask ({scheme.num_classes} classes: {', '.join(scheme.codes)})",
            )
        self._samples = list(samples)
        self.scheme = scheme
        self._histograms: np.ndarray | None = None
        self._ignored: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return self._samples[index]
        return self._samples[index]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self._samples]

    @property
    def groups(self) -> list[str]:
        return [s.group for s in self._samples]

    def class_histograms(self) -> np.ndarray:
        """``(len(self), num_classes)`` int64 pixel counts per image and class (unlabelled pixels left out)."""
        if self._histograms is None:
            self._count_pixels()
        return self._histograms

    def ignored_pixels(self) -> np.ndarray:
        """``(len(self),)`` int64: unlabelled (:data:`~lggseg.classes.IGNORE_INDEX`) pixels per image."""
        if self._ignored is None:
            self._count_pixels()
        return self._ignored

    def _count_pixels(self) -> None:
        k = self.scheme.num_classes
        # One bincount per mask gives both: the class counts and, at IGNORE_INDEX, the unlabelled.
        counts = np.stack(
            [np.bincount(s.mask.ravel(), minlength=IGNORE_INDEX + 1) for s in self._samples]
        ).astype(np.int64)
        self._histograms = counts[:, :k]
        self._ignored = counts[:, IGNORE_INDEX]

    def class_shares(self) -> dict[str, float]:
        """Share of all labelled pixels per class code, over the whole source."""
        total = self.class_histograms().sum(axis=0)
        return {c: float(v) / max(int(total.sum()), 1) for c, v in zip(self.scheme.codes, total)}

    def mapped(self, mapping: ClassMapping) -> "DataSource":
        """A new source with every mask mapped by ``mapping`` (e.g. IvyGAP 8 -> LGG 4)."""
        if mapping.source != self.scheme:
            raise ValueError(
                f"The mapping goes from classes {', '.join(mapping.source.codes)}, but this "
                f"source's masks use {', '.join(self.scheme.codes)}."
            )
        return DataSource(samples=map_samples(self._samples, mapping), scheme=mapping.target)

    def subset(self, indices: Sequence[int]) -> "DataSource":
        """A new source with the samples at ``indices`` (same scheme)."""
        subset = DataSource(samples=[self._samples[i] for i in indices], scheme=self.scheme)
        subset.scale, subset.mpp = self.scale, self.mpp
        return subset

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} samples, classes={','.join(self.scheme.codes)})"


def map_samples(samples: Sequence[Sample], mapping: ClassMapping) -> list[Sample]:
    """The same samples with their masks mapped by ``mapping``; images are shared, not copied.

    Unlabelled pixels (:data:`~lggseg.classes.IGNORE_INDEX`) stay unlabelled.
    """
    lut = mapping.lookup()
    return [dataclasses.replace(s, mask=apply_lookup(lut, s.mask)) for s in samples]


def parse_group(name: str, pattern: str | re.Pattern[str] | None) -> str:
    r"""The split group of a sample name: the first group of ``pattern`` searched in ``name``.

    Args:
      name: a sample name, e.g. ``'W30-1-1-C.01'``.
      pattern: a regular expression; its first capturing group (or the whole match when it
        has none) is the group, e.g. ``r'^(W\d+-\d+-\d+-[A-Z])'`` -> ``'W30-1-1-C'``.
        ``None`` makes every name its own group.

    Raises:
      ValueError: naming the sample and the pattern, when the pattern does not match;
        when it is not a valid regular expression.
    """
    if pattern is None:
        return name
    try:
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    except re.error as err:
        raise ValueError(f"group_pattern {pattern!r} is not a valid regular expression: {err}.") from err
    found = regex.search(name)
    if found is None or not found.group(1 if regex.groups else 0):
        raise ValueError(
            f"{name}: the group pattern {regex.pattern!r} does not match this name, so its "
            f"patient/slide group is unknown; fix the pattern or pass group_pattern=None."
        )
    return found.group(1 if regex.groups else 0)
