"""The training input pipeline: source -> sampler -> tile -> normaliser -> augmentation -> batch.

:class:`TileDataset` is a ``keras.utils.PyDataset``, so ``model.fit`` runs it with worker
threads or processes. Every batch is a pure function of ``(seed, epoch, batch index)``:
its generator comes from ``np.random.SeedSequence([seed, epoch, 1, index])``, never from
state shared between workers, so the batches are the same whatever the number of workers,
the order they are fetched in, or how often the TensorFlow backend peeks at the first ones
to learn their shapes.

Epochs. ``on_epoch_end`` draws the next epoch's list. ``model.fit`` calls it after every
epoch and (Keras 3.15, both backends) once more as it starts, so a fresh dataset's epoch 0
serves only the batches Keras peeks at to build the model, and fit's first epoch trains on
dataset epoch 1. The sequence is the same on every run and backend; :meth:`set_epoch`
jumps to an epoch (to resume: the value of :attr:`epoch` saved after the last finished
epoch, minus one, since fit's start advances it again).

Normalisation follows the policy of :mod:`lggseg.stain.source_stain`: each image's stain
is estimated once, when the dataset is built, and applied to all of it. By default
(``normalize_whole_images=True``) the whole image is transformed then, which takes
normalisation out of the per-batch hot path (``benchmarks/pipeline.py``, 2 CPU cores,
256-pixel tiles with the default augmentation: about 2x the tiles/s of normalising every
batch, for 0.1 s per 1024x1024 image up front). ``normalize_whole_images=False`` applies the
same per-image estimates to each batch's tiles instead: the same pixels (up to one grey
level of float32 rounding), no normalised copy of the images in memory, slower batches.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import keras
import numpy as np

from lggseg.data.source import DataSource
from lggseg.data.tiles import random_tile, to_model_input
from lggseg.stain.base import StainNormalizer
from lggseg.training.samplers import Sampler, TileSpec, UniformSampler, effective_class_shares

__all__ = ["TileDataset"]

log = logging.getLogger(__name__)

# An augmentation moves image and mask together; see lggseg.augment.
Augmentation = Callable[..., tuple[np.ndarray, np.ndarray]]

# Second entry of every SeedSequence, so an epoch's list and its batches never share a stream.
_EPOCH_STREAM, _BATCH_STREAM = 0, 1


class TileDataset(keras.utils.PyDataset):
    """Batches of ``(x float32 (B, T, T, 3) in [0, 1], y int32 (B, T, T))`` tiles for ``model.fit``.

    Args:
      source: images and index masks; every image must be at least ``tile_size`` square.
      sampler: defines each epoch's list of tiles (``sampler.epoch(source, rng=...)``);
        default :class:`~lggseg.training.samplers.UniformSampler`.
      tile_size: tile side ``T`` in pixels.
      batch_size: tiles per batch ``B``. Every batch is full: the last one wraps around to
        the start of the epoch's list.
      normalizer: a fitted stain normaliser, or None.
      augmentation: ``aug(image, mask, *, rng) -> (image, mask)`` on single uint8 tiles, or None.
      seed: the seed every epoch list and batch is derived from.
      workers: threads (or processes) ``fit`` uses to build batches.
      use_multiprocessing: processes instead of threads (the dataset is pickled to them).
      max_queue_size: batches built ahead of the model.
      steps_per_epoch: batches per epoch, independent of the data size (the epoch's list is
        cycled through); None: one pass over the list.
      shuffle: shuffle the epoch's list (with the epoch's generator).
      normalize_whole_images: apply each image's estimate to the whole image at
        construction (fast batches) rather than to every batch's tiles (less memory);
        the pixels are the same either way (see the module docstring).

    Attributes:
      last_epoch_class_shares: class code -> share of the current epoch's training pixels
        (:func:`~lggseg.training.samplers.effective_class_shares`), logged at every epoch.
    """

    def __init__(
        self,
        *,
        source: DataSource,
        sampler: Sampler | None = None,
        tile_size: int = 256,
        batch_size: int = 8,
        normalizer: StainNormalizer | None = None,
        augmentation: Augmentation | None = None,
        seed: int = 0,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
        steps_per_epoch: int | None = None,
        shuffle: bool = True,
        normalize_whole_images: bool = True,
    ):
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
        for what, value in (("tile_size", tile_size), ("batch_size", batch_size), ("workers", workers)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"TileDataset: {what} must be a positive integer, got {value!r}.")
        if steps_per_epoch is not None and (not isinstance(steps_per_epoch, (int, np.integer)) or steps_per_epoch < 1):
            raise ValueError(
                f"TileDataset: steps_per_epoch must be a positive integer or None, got {steps_per_epoch!r}."
            )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"TileDataset: seed must be a non-negative integer, got {seed!r}.")
        small = [f"{s.name} ({s.image.shape[0]}x{s.image.shape[1]})" for s in source
                 if min(s.image.shape[:2]) < tile_size]
        if small:
            raise ValueError(
                f"TileDataset: {len(small)} image(s) are smaller than the {tile_size}x{tile_size} tile: "
                f"{', '.join(small[:5])}{' ...' if len(small) > 5 else ''}. Use a smaller tile_size "
                f"or pad these images."
            )
        self.source = source
        self.sampler = UniformSampler() if sampler is None else sampler
        self.tile_size = int(tile_size)
        self.batch_size = int(batch_size)
        self.normalizer = normalizer
        self.augmentation = augmentation
        self.seed = int(seed)
        self.steps_per_epoch = None if steps_per_epoch is None else int(steps_per_epoch)
        self.shuffle = bool(shuffle)
        self.normalize_whole_images = bool(normalize_whole_images)
        # One estimate per image, the stain policy: transform(image) estimates a whole image
        # and applies it in one pass; the tiles mode keeps the estimates for __getitem__.
        self._stains = []
        if normalizer is not None and self.normalize_whole_images:
            self._images = [normalizer.transform(s.image) for s in source]
        else:
            self._images = [s.image for s in source]
            if normalizer is not None:
                self._stains = [normalizer.estimate_source(s.image) for s in source]
        self._masks = [s.mask for s in source]
        self.last_epoch_class_shares: dict[str, float] = {}
        self.set_epoch(0)

    @property
    def epoch(self) -> int:
        """The epoch the batches are drawn for (0-based)."""
        return self._state[0]

    @property
    def specs(self) -> list[TileSpec]:
        """The current epoch's tile list (after shuffling)."""
        return self._state[1]

    def set_epoch(self, epoch: int) -> None:
        """Draw the tile list of ``epoch`` (e.g. to resume a run) and log its class shares."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, int(epoch), _EPOCH_STREAM]))
        specs = list(self.sampler.epoch(self.source, rng=rng))
        if not specs:
            raise ValueError(f"TileDataset: {self.sampler!r} produced an empty epoch for {self.source!r}.")
        if self.shuffle:
            specs = [specs[i] for i in rng.permutation(len(specs))]
        # One tuple, replaced at once, so a worker thread never sees a new list with an old epoch.
        self._state = (int(epoch), specs)
        self.last_epoch_class_shares = effective_class_shares(self.source, specs, tile_size=self.tile_size)
        ignored = int(self.source.ignored_pixels().sum())
        log.info(
            "epoch %d: %d tiles from %s; class shares %s%s",
            epoch,
            len(specs),
            self.sampler,
            ", ".join(f"{c} {100 * v:.1f}%" for c, v in self.last_epoch_class_shares.items()),
            # The shares are of labelled pixels; say how much of the source is left out.
            f" (of labelled pixels; {ignored:,} source pixels unlabelled)" if ignored else "",
        )

    def on_epoch_end(self) -> None:
        self.set_epoch(self.epoch + 1)

    def __len__(self) -> int:
        if self.steps_per_epoch is not None:
            return self.steps_per_epoch
        return math.ceil(len(self.specs) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        index = int(index)
        if not 0 <= index < len(self):
            raise IndexError(f"TileDataset: batch {index} out of range 0..{len(self) - 1}.")
        epoch, specs = self._state
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, epoch, _BATCH_STREAM, index]))
        images, masks = [], []
        for j in range(self.batch_size):
            spec = specs[(index * self.batch_size + j) % len(specs)]
            image, mask = random_tile(
                self._images[spec.index],
                self._masks[spec.index],
                size=self.tile_size,
                rng=rng,
                center=spec.center,
                name=self.source[spec.index].name,
            )
            if self.normalizer is not None and not self.normalize_whole_images:
                image = self.normalizer.transform(image, source=self._stains[spec.index])
            images.append(image)
            masks.append(np.array(mask))  # a copy: an augmentation may work in place
        batch = np.stack(images)
        if self.augmentation is not None:
            pairs = [self.augmentation(batch[j], masks[j], rng=rng) for j in range(self.batch_size)]
            batch = np.stack([p[0] for p in pairs])
            masks = [p[1] for p in pairs]
        return to_model_input(batch), np.stack(masks).astype(np.int32)

    def __repr__(self) -> str:
        return (
            f"TileDataset({self.source!r}, sampler={self.sampler!r}, tile_size={self.tile_size}, "
            f"batch_size={self.batch_size}, batches={len(self)}, seed={self.seed})"
        )
