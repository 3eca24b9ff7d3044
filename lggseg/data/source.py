"""The data-source interface: images and index masks, held in memory, with metadata.

Every source (a folder of image + mask pairs, cropped region images, the synthetic
generator, slides) yields :class:`Sample` objects: a uint8 RGB image ``(H, W, 3)`` and a
uint8 index mask ``(H, W)`` in the source's :class:`~lggseg.classes.ClassScheme`.
Sources validate everything when they are opened, so that a bad file fails before
training starts, never halfway through a run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from lggseg.classes import ClassScheme


@dataclasses.dataclass(frozen=True)
class Sample:
    """One annotated image.

    Attributes:
      image: ``(H, W, 3)`` uint8 RGB.
      mask: ``(H, W)`` uint8 class indices in the source's scheme.
      name: the file stem (or a generated name), unique within a source.
      group: the unit a train/validation split keeps together (patient or slide id);
        defaults to ``name``.
    """

    image: np.ndarray
    mask: np.ndarray
    name: str
    group: str = ""

    def __post_init__(self):
        if self.image.ndim != 3 or self.image.shape[-1] != 3 or self.image.dtype != np.uint8:
            raise ValueError(
                f"{self.name}: image must be (H, W, 3) uint8, got {self.image.shape} {self.image.dtype}."
            )
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

    def __init__(self, *, samples: Sequence[Sample], scheme: ClassScheme):
        if len(samples) == 0:
            raise ValueError("A data source needs at least one sample.")
        names = [s.name for s in samples]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"Sample names must be unique; repeated: {dupes[:10]}.")
        for s in samples:
            if s.mask.size and int(s.mask.max()) >= scheme.num_classes:
                raise ValueError(
                    f"{s.name}: mask holds class {int(s.mask.max())}, but the scheme has "
                    f"{scheme.num_classes} classes ({', '.join(scheme.codes)})."
                )
        self._samples = list(samples)
        self.scheme = scheme
        self._histograms: np.ndarray | None = None

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
        """``(len(self), num_classes)`` int64 pixel counts per image and class."""
        if self._histograms is None:
            k = self.scheme.num_classes
            self._histograms = np.stack(
                [np.bincount(s.mask.ravel(), minlength=k)[:k] for s in self._samples]
            ).astype(np.int64)
        return self._histograms

    def class_shares(self) -> dict[str, float]:
        """Share of all pixels per class code, over the whole source."""
        total = self.class_histograms().sum(axis=0)
        return {c: float(v) / max(int(total.sum()), 1) for c, v in zip(self.scheme.codes, total)}

    def subset(self, indices: Sequence[int]) -> "DataSource":
        """A new source with the samples at ``indices`` (same scheme)."""
        return DataSource(samples=[self._samples[i] for i in indices], scheme=self.scheme)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} samples, classes={','.join(self.scheme.codes)})"
