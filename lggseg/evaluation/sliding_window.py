"""Sliding-window inference: images of any size through a tile-sized model, without seams.

Overlapping tiles are predicted in batches and blended with a window that weighs each
tile's centre more than its edges, where zero padding inside the network and the
missing context make predictions worse. The Gaussian window (sigma = tile / 8) follows
nnU-Net (Isensee et al., "nnU-Net: a self-configuring method for deep learning-based
biomedical image segmentation", Nature Methods 2021).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from lggseg.data.image_checks import check_rgb

__all__ = ["SlidingWindowPredictor", "BLEND_MODES", "pad_to_size"]

BLEND_MODES = ("gaussian", "mean")

# Used when the model accepts any spatial size and no tile size is given: a multiple of
# 32, as FC-DenseNet's five poolings need, and the training tile size of GBM_WSSM.
_DEFAULT_TILE = 256

ProgressCallback = Callable[[int, int], None]


class SlidingWindowPredictor:
    """Predicts softmax probabilities for whole images by overlapping, blended tiles.

    Every tile fed to the model has exactly ``tile_size`` x ``tile_size`` pixels (images
    smaller than a tile are reflect-padded and cropped back), so a model with a fixed
    input shape works, and a compiled model sees one tile shape. For FC-DenseNet choose
    a multiple of 32.

    Stain normalisation follows the one policy of :mod:`lggseg.stain.source_stain` (one
    estimate per image, applied to all of it); :meth:`normalize` is the image the tiles
    are cut from.

    Args:
      model: a Keras model mapping float32 ``(B, h, w, 3)`` in [0, 1] to softmax
        probabilities ``(B, h, w, C)``.
      tile_size: side of the square tiles; ``None`` = the model's fixed input size, or
        256 for a fully convolutional model.
      overlap: fraction of a tile shared with its neighbour, in [0, 1).
      batch_size: tiles per model call.
      tta: test-time augmentation: average over the 8 flips / 90-degree rotations of each
        tile (the dihedral group), each undone on the output. 8x the compute.
      blend: ``'gaussian'`` (centre-weighted, no seams) or ``'mean'`` (uniform average).
      normalizer: a fitted :class:`~lggseg.stain.base.StainNormalizer` (the run's
        ``normalizer.json``), or ``None``.
    """

    def __init__(
        self,
        *,
        model,
        tile_size: int | None = None,
        overlap: float = 0.25,
        batch_size: int = 8,
        tta: bool = False,
        blend: str = "gaussian",
        normalizer=None,
    ):
        fixed = _fixed_input_size(model)
        if tile_size is None:
            tile_size = fixed or _DEFAULT_TILE
        if tile_size < 1:
            raise ValueError(f"tile_size must be a positive number of pixels, got {tile_size}.")
        if fixed is not None and tile_size != fixed:
            raise ValueError(
                f"The model takes fixed {fixed}x{fixed} inputs, but tile_size={tile_size}; use "
                f"tile_size={fixed} (or None)."
            )
        if not 0.0 <= overlap < 1.0:
            raise ValueError(f"overlap must lie in [0, 1), got {overlap}.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        if blend not in BLEND_MODES:
            raise ValueError(f"Unknown blend {blend!r}; valid: {', '.join(BLEND_MODES)}.")
        self.model = model
        self.tile_size = int(tile_size)
        self.overlap = float(overlap)
        self.batch_size = int(batch_size)
        self.tta = bool(tta)
        self.blend = blend
        self.normalizer = normalizer
        self.num_classes = int(model.output_shape[-1])
        self.window = _window(self.tile_size, blend)

    @property
    def stride(self) -> int:
        """Step between tile origins, ``tile_size * (1 - overlap)`` rounded, at least 1."""
        return max(1, self.tile_size - int(round(self.tile_size * self.overlap)))

    def tile_origins(self, height: int, width: int) -> list[tuple[int, int]]:
        """Top-left corners of the tiles covering a ``height`` x ``width`` image.

        The image must be at least one tile in each direction (:meth:`predict` pads
        smaller ones); the last row and column of tiles are flush with the border.
        """
        return [(y, x) for y in _starts(height, self.tile_size, self.stride)
                for x in _starts(width, self.tile_size, self.stride)]

    def predict(self, image: np.ndarray, *, progress: ProgressCallback | None = None) -> np.ndarray:
        """Probabilities for one image.

        Args:
          image: ``(H, W, 3)`` uint8 RGB, any size.
          progress: called as ``progress(tiles_done, tiles_total)`` after each batch.

        Returns:
          ``(H, W, C)`` float32 probabilities (each pixel sums to 1).
        """
        image = check_rgb(image, what="SlidingWindowPredictor.predict")
        height, width = image.shape[:2]
        padded = pad_to_size(self.normalize(image), height=self.tile_size, width=self.tile_size)
        ph, pw = padded.shape[:2]
        acc = np.zeros((ph, pw, self.num_classes), dtype=np.float32)
        weight = np.zeros((ph, pw, 1), dtype=np.float32)
        origins = self.tile_origins(ph, pw)
        t = self.tile_size
        done = 0
        for batch_origins in _chunks(origins, self.batch_size):
            tiles = np.stack([padded[y:y + t, x:x + t] for y, x in batch_origins])
            probs = self.predict_tiles(tiles)
            for (y, x), p in zip(batch_origins, probs):
                acc[y:y + t, x:x + t] += p * self.window[..., None]
                weight[y:y + t, x:x + t] += self.window[..., None]
            done += len(batch_origins)
            if progress is not None:
                progress(done, len(origins))
        return (acc / weight)[:height, :width]

    def normalize(self, image: np.ndarray) -> np.ndarray:
        """The image as :meth:`predict` tiles it: stain-normalised with its own one estimate.

        Args:
          image: ``(H, W, 3)`` uint8 RGB.

        Returns:
          ``(H, W, 3)`` uint8; ``image`` itself when there is no normaliser.
        """
        # transform(image) is estimate_source(image) + apply, in one pass.
        return image if self.normalizer is None else self.normalizer.transform(image)

    def predict_tiles(self, tiles: np.ndarray) -> np.ndarray:
        """Model (and TTA) on a batch of tiles, without normalisation or blending.

        The building block for streaming callers (whole-slide readers) that cut and
        normalise their own regions.

        Args:
          tiles: ``(B, h, w, 3)`` uint8 RGB, already stain-normalised if the model
            expects it (with the estimate of the image they are cut from, see
            :mod:`lggseg.stain.source_stain`); ``h == w`` when ``tta`` is on.

        Returns:
          ``(B, h, w, C)`` float32 probabilities.
        """
        tiles = check_rgb(tiles, what="SlidingWindowPredictor.predict_tiles", batch=True)
        x = tiles.astype(np.float32) / 255.0
        if not self.tta:
            return self._run(x)
        if tiles.shape[1] != tiles.shape[2]:
            raise ValueError(f"TTA rotates tiles, so they must be square; got {tiles.shape[1:3]}.")
        total = np.zeros(tiles.shape[:3] + (self.num_classes,), dtype=np.float32)
        # One model call per transform keeps the batch shape constant for compiled models.
        for forward, inverse in _dihedral_transforms():
            total += inverse(self._run(np.ascontiguousarray(forward(x))))
        return total / 8.0

    def _run(self, x: np.ndarray) -> np.ndarray:
        out = np.asarray(self.model.predict_on_batch(x), dtype=np.float32)
        if out.ndim == 3 and out.shape[1] == x.shape[1] * x.shape[2]:
            # GBM_WSSM's original head flattens the pixels: (B, H * W, C).
            out = out.reshape(x.shape[:3] + (out.shape[-1],))
        if out.shape[:3] != x.shape[:3] or out.shape[-1] != self.num_classes:
            raise ValueError(
                f"The model mapped tiles {x.shape} to {out.shape}; expected per-pixel probabilities "
                f"{x.shape[:3] + (self.num_classes,)} (a segmentation model with a softmax output)."
            )
        return out


def _fixed_input_size(model) -> int | None:
    shape = tuple(model.input_shape)
    if len(shape) != 4 or shape[-1] != 3:
        raise ValueError(f"Expected a model taking RGB images (B, H, W, 3), got input shape {shape}.")
    h, w = shape[1], shape[2]
    if h is None and w is None:
        return None
    if h != w or h is None or w is None:
        raise ValueError(f"The model's input shape {shape} is not square; sliding windows need square tiles.")
    return int(h)


def _window(size: int, blend: str) -> np.ndarray:
    if blend == "mean":
        return np.ones((size, size), dtype=np.float32)
    sigma = size / 8.0
    centre = (size - 1) / 2.0
    g = np.exp(-0.5 * ((np.arange(size) - centre) / sigma) ** 2)
    w = np.outer(g, g)
    w /= w.max()
    # Far corners underflow towards 0; a floor keeps the blend defined where one tile's
    # corner is all that covers a pixel.
    return np.maximum(w, 1e-6).astype(np.float32)


def _starts(length: int, tile: int, stride: int) -> list[int]:
    starts = list(range(0, max(length - tile, 0) + 1, stride))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


def pad_to_size(image: np.ndarray, *, height: int, width: int) -> np.ndarray:
    """Pad ``(H, W, C)`` at the bottom and right to at least ``height`` x ``width`` by reflection.

    How images (and slide levels) smaller than a tile are padded before prediction; the
    caller crops the prediction back. Returns ``image`` itself when it is large enough.
    """
    pad_h, pad_w = max(height - image.shape[0], 0), max(width - image.shape[1], 0)
    if not (pad_h or pad_w):
        return image
    # Reflection keeps tissue texture at the border; a one-pixel dimension cannot reflect.
    mode = "reflect" if min(image.shape[:2]) > 1 else "edge"
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _dihedral_transforms():
    """The 8 symmetries of the square as (forward, inverse) pairs on (B, H, W, C) arrays."""
    pairs = []
    for k in range(4):
        for flip in (False, True):
            def forward(a, k=k, flip=flip):
                a = np.rot90(a, k, axes=(1, 2))
                return a[:, :, ::-1] if flip else a

            def inverse(a, k=k, flip=flip):
                a = a[:, :, ::-1] if flip else a
                return np.rot90(a, -k, axes=(1, 2))

            pairs.append((forward, inverse))
    return pairs
