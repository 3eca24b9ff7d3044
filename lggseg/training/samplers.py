"""Samplers: which tiles one training epoch is made of.

A sampler turns a data source into an epoch: a list of :class:`TileSpec` (an image index
and, optionally, the pixel the tile is centred on; without one the tile is a random crop).
``sampler.epoch(source, rng=...)`` is a pure function of the source and the generator, so
an epoch is reproducible from the seed it was drawn with.

* :class:`UniformSampler`: every image, ``tiles_per_image`` times.
* :class:`RareClassOversampler`: image-level oversampling of images that contain rare
  classes, exactly as in the LE-focused experiment (``rates={'LE': 3.0}``).
* :class:`ClassCenteredSampler`: pixel-level; a share of the tiles is centred on pixels of
  given classes (nnU-Net's foreground oversampling, MONAI's ``RandCropByLabelClasses``).

Class counts come from :meth:`~lggseg.data.source.DataSource.class_histograms`, which
leaves unlabelled pixels out, so no sampler centres a tile on one or counts one for a class.

:func:`effective_class_shares` says what class mix an epoch actually trains on.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from lggseg.data.source import DataSource
from lggseg.data.tiles import tile_origin

__all__ = [
    "TileSpec",
    "Sampler",
    "UniformSampler",
    "RareClassOversampler",
    "ClassCenteredSampler",
    "effective_class_shares",
]


@dataclasses.dataclass(frozen=True)
class TileSpec:
    """One training tile: image ``index`` in the source; ``center`` ``(row, col)`` or None (random crop)."""

    index: int
    center: tuple[int, int] | None = None


class Sampler(Protocol):
    """What the input pipeline needs of a sampler."""

    def epoch(self, source: DataSource, *, rng: np.random.Generator) -> list[TileSpec]:
        """The epoch's tiles; the same list for the same source and generator state."""
        ...


def _resolve(scheme_codes: Sequence[str], names: Sequence[str], *, what: str) -> list[int]:
    lowered = [c.lower() for c in scheme_codes]
    out = []
    for name in names:
        if not isinstance(name, str) or name.lower() not in lowered:
            raise ValueError(
                f"{what}: unknown class {name!r}; valid classes of the source's scheme: "
                f"{', '.join(scheme_codes)}."
            )
        out.append(lowered.index(name.lower()))
    return out


def _check_positive_int(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}.")
    return int(value)


class UniformSampler:
    """Every image of the source, ``tiles_per_image`` random crops each.

    Args:
      tiles_per_image: random tiles cut from each image per epoch.
    """

    def __init__(self, *, tiles_per_image: int = 1):
        self.tiles_per_image = _check_positive_int(tiles_per_image, "UniformSampler: tiles_per_image")

    def epoch(self, source: DataSource, *, rng: np.random.Generator) -> list[TileSpec]:
        del rng  # the list is fixed; the crops are random later, from the batch's generator
        return [TileSpec(i) for i in range(len(source)) for _ in range(self.tiles_per_image)]

    def __repr__(self) -> str:
        return f"UniformSampler(tiles_per_image={self.tiles_per_image})"


class RareClassOversampler:
    """Image-level oversampling of images that contain rare classes.

    An image *counts for* the rarest class it contains among the classes given in
    ``rates`` (rarest: the smallest share of all the source's pixels). For each such class
    with ``n`` images the epoch holds those ``n`` images once plus ``int((rate - 1) * n)``
    extra ones drawn at random with replacement; every other image appears once. With
    ``rates={'LE': 3.0}`` this is exactly the LE-focused experiment's generator: "all other
    images + all LE images + (rate - 1) x (number of LE images) extra LE images".
    ``{'IT': 20, 'LE': 5}`` oversamples IT images 20x and LE images 5x; an image holding
    both counts for the rarer class.

    Args:
      rates: class code -> oversampling rate (>= 1), resolved through ``source.scheme``.
    """

    def __init__(self, *, rates: Mapping[str, float] | None = None):
        rates = {"LE": 3.0} if rates is None else dict(rates)
        if not rates:
            raise ValueError("RareClassOversampler: give at least one class rate, e.g. {'LE': 3.0}.")
        for code, rate in rates.items():
            if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not rate >= 1.0:
                raise ValueError(
                    f"RareClassOversampler: the rate of {code!r} must be a number >= 1 "
                    f"(1 = no oversampling), got {rate!r}."
                )
        self.rates = {str(k): float(v) for k, v in rates.items()}

    def assignment(self, source: DataSource) -> dict[str, list[int]]:
        """Class code -> the images that count for it (plus ``''`` -> all other images)."""
        codes = list(self.rates)
        indices = _resolve(source.scheme.codes, codes, what="RareClassOversampler")
        hist = source.class_histograms()
        total = hist.sum(axis=0)
        # Rarest first; ties keep the order of the scheme, so the assignment is deterministic.
        order = sorted(range(len(codes)), key=lambda k: (int(total[indices[k]]), indices[k]))
        groups: dict[str, list[int]] = {codes[k]: [] for k in order}
        groups[""] = []
        for i in range(len(source)):
            for k in order:
                if hist[i, indices[k]] > 0:
                    groups[codes[k]].append(i)
                    break
            else:
                groups[""].append(i)
        return groups

    def epoch(self, source: DataSource, *, rng: np.random.Generator) -> list[TileSpec]:
        groups = self.assignment(source)
        order = groups.pop("")
        for code, images in groups.items():
            order = order + images
            extra = int((self.rates[code] - 1.0) * len(images))
            if extra and images:
                order = order + [int(i) for i in rng.choice(images, size=extra, replace=True)]
        return [TileSpec(i) for i in order]

    def __repr__(self) -> str:
        return f"RareClassOversampler(rates={self.rates})"


class ClassCenteredSampler:
    """Pixel-level sampler: a share of the tiles is centred on pixels of chosen classes.

    Of the ``len(source) * tiles_per_image`` tiles of an epoch, ``round(probability * N)``
    slots, drawn at random, are centred: the sampler picks one of ``classes`` present in that
    image (uniformly) and then a uniformly random pixel of that class. An image that holds
    none of the classes gets a random crop instead, as in nnU-Net. The other tiles are
    random crops.

    References:
      Isensee et al., "nnU-Net: a self-configuring method for deep learning-based biomedical
      image segmentation", Nature Methods 18, 2021 (``oversample_foreground_percent=0.33``);
      MONAI ``RandCropByLabelClasses`` (crops centred on sampled label classes).

    Args:
      classes: class codes to centre tiles on, resolved through ``source.scheme``.
      probability: share of the epoch's tiles that are centred, in [0, 1].
      tiles_per_image: tiles cut from each image per epoch.
    """

    def __init__(
        self,
        *,
        classes: Sequence[str] = ("LE", "IT"),
        probability: float = 0.33,
        tiles_per_image: int = 1,
    ):
        if isinstance(classes, str):
            classes = (classes,)
        if not classes:
            raise ValueError("ClassCenteredSampler: give at least one class code to centre tiles on.")
        if not 0.0 <= float(probability) <= 1.0:
            raise ValueError(f"ClassCenteredSampler: probability must lie in [0, 1], got {probability!r}.")
        self.classes = tuple(classes)
        self.probability = float(probability)
        self.tiles_per_image = _check_positive_int(tiles_per_image, "ClassCenteredSampler: tiles_per_image")

    def epoch(self, source: DataSource, *, rng: np.random.Generator) -> list[TileSpec]:
        wanted = _resolve(source.scheme.codes, self.classes, what="ClassCenteredSampler")
        hist = source.class_histograms()
        slots = [i for i in range(len(source)) for _ in range(self.tiles_per_image)]
        n_centred = int(round(self.probability * len(slots)))
        centred = np.zeros(len(slots), dtype=bool)
        centred[rng.choice(len(slots), size=n_centred, replace=False)] = True
        # Which class each centred slot is centred on, drawn before any pixel is looked up.
        targets: dict[int, int] = {}
        for s in np.flatnonzero(centred):
            present = [c for c in wanted if hist[slots[s], c] > 0]
            if present:
                targets[int(s)] = int(present[rng.integers(len(present))])
        # One search over each (image, class) mask, however many tiles it serves.
        flat_cache: dict[tuple[int, int], np.ndarray] = {}
        specs = []
        for s, i in enumerate(slots):
            if s not in targets:
                specs.append(TileSpec(i))
                continue
            key = (i, targets[s])
            if key not in flat_cache:
                flat_cache[key] = np.flatnonzero(source[i].mask.ravel() == targets[s])
            pixels = flat_cache[key]
            row, col = divmod(int(pixels[rng.integers(len(pixels))]), source[i].mask.shape[1])
            specs.append(TileSpec(i, (row, col)))
        return specs

    def __repr__(self) -> str:
        return (
            f"ClassCenteredSampler(classes={self.classes}, probability={self.probability}, "
            f"tiles_per_image={self.tiles_per_image})"
        )


def effective_class_shares(
    source: DataSource,
    specs: Sequence[TileSpec],
    *,
    tile_size: int | None = None,
) -> dict[str, float]:
    """Share of each class among the pixels an epoch trains on.

    A centred spec contributes the exact histogram of its (deterministic) tile. A random
    crop contributes its image's class shares times the tile's area: its expectation up to
    border effects, and exact when the tile is the whole image. With ``tile_size=None``
    every spec is its whole image (image-level sampling as in the seed experiment, where
    this is exact). Unlabelled pixels (:data:`~lggseg.classes.IGNORE_INDEX`) train no
    class and are left out: the shares are of the labelled pixels.

    Returns:
      class code -> share in [0, 1], in the scheme's order.
    """
    hist = source.class_histograms().astype(np.float64)
    # Pixels per image, unlabelled included: a random crop's expected labelled pixels.
    area = hist.sum(axis=1) + source.ignored_pixels()
    k = source.scheme.num_classes
    counts = np.zeros(k, dtype=np.float64)
    for spec in specs:
        sample = source[spec.index]
        if spec.center is not None and tile_size is not None:
            top, left = tile_origin(sample.mask.shape, size=tile_size, center=spec.center, name=sample.name)
            tile = sample.mask[top : top + tile_size, left : left + tile_size]
            counts += np.bincount(tile.ravel(), minlength=k)[:k]
        elif tile_size is None:
            counts += hist[spec.index]
        else:
            counts += hist[spec.index] / max(area[spec.index], 1.0) * tile_size * tile_size
    total = max(counts.sum(), 1.0)
    return {code: float(v / total) for code, v in zip(source.scheme.codes, counts)}
