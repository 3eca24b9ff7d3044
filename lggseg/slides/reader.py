"""Reading whole-slide images (SVS, generic tiled pyramidal TIFF) region by region.

The reader is `tiffslide <https://github.com/Bayer-Group/tiffslide>`_: pure Python over
tifffile (+ imagecodecs for JPEG/JPEG 2000 tiles), installed with ``pip install
tiffslide``, with OpenSlide's API (levels, dimensions, downsamples, ``read_region``). It
needs no native library, unlike OpenSlide, which is why lggseg uses it: a slide opens
the same way on a laptop, in CI and on a cluster node. It reads Aperio SVS, Hamamatsu
NDPI, Leica SCN, Ventana BIF and generic tiled pyramidal TIFF, with the reduced levels
either as SubIFDs or as successive pages marked as reduced-resolution images
(NewSubfileType = 1), which is what tifffile, libvips and bfconvert write. Only the tiles a
region touches are decoded, so reading a region costs memory in proportion to the
region, never to the slide.

Coordinates here are *level* pixel coordinates ``(x, y)`` and sizes ``(width, height)``
at the level being read (OpenSlide's ``read_region`` takes level-0 coordinates instead;
:meth:`SlideReader.read_region` converts). Arrays are numpy ``(H, W, 3)`` uint8 RGB.

A model trained at a resolution that no stored level has is given one:
:meth:`SlideReader.level_at_mpp` adds a level at exactly that resolution after the stored
ones, read region by region from the nearest finer stored level and resampled.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["SlideReader", "open_slide", "is_slide", "SLIDE_SUFFIXES"]

# What `lggseg predict` sends to the slide path instead of the image path.
SLIDE_SUFFIXES = (".svs", ".tif", ".tiff", ".ndpi", ".scn", ".bif")
# A stored level within this factor of the wanted resolution is used as it is (scanners write
# e.g. 0.2527 um/px where 0.25 is meant); beyond it, level_at_mpp resamples.
MPP_TOLERANCE = 1.10


def _tiffslide():
    try:
        import tiffslide
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise ImportError(
            "Reading whole-slide images needs tiffslide: pip install 'tiffslide>=3.0' "
            "(pure Python, no native OpenSlide library needed)."
        ) from err
    return tiffslide


class SlideReader:
    """A whole-slide image opened for region reads.

    Args:
      path: an SVS / NDPI / pyramidal TIFF file.

    Attributes:
      path: the file.
      level_count: number of pyramid levels (level 0 is full resolution), the levels added
        by :meth:`level_at_mpp` included.
      level_dimensions: ``(width, height)`` per level, as OpenSlide.
      level_downsamples: level-0 pixels per level pixel, per level.
      mpp: level-0 microns per pixel ``(x, y)``, or ``None`` when the file does not say
        (from the vendor metadata, else the TIFF resolution tags).

    Raises:
      FileNotFoundError: when ``path`` does not exist.
      ValueError: naming the file, when it is not a slide tiffslide can read.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"Slide {self.path} does not exist.")
        tiffslide = _tiffslide()
        try:
            self._slide = tiffslide.TiffSlide(self.path)
            props = self._slide.properties
            self.level_dimensions: tuple[tuple[int, int], ...] = tuple(
                (int(w), int(h)) for w, h in self._slide.level_dimensions
            )
        except Exception as err:  # tifffile raises many kinds for a file that is not a TIFF
            raise ValueError(
                f"Cannot open {self.path} as a slide ({type(err).__name__}: {err}); lggseg reads SVS, "
                f"NDPI and tiled pyramidal TIFF through tiffslide."
            ) from err
        self.level_count = len(self.level_dimensions)
        self.level_downsamples: tuple[float, ...] = tuple(float(d) for d in self._slide.level_downsamples)
        mx, my = props.get(tiffslide.PROPERTY_NAME_MPP_X), props.get(tiffslide.PROPERTY_NAME_MPP_Y)
        self.mpp: tuple[float, float] | None = None
        if mx and float(mx) > 0:
            self.mpp = (float(mx), float(my) if my and float(my) > 0 else float(mx))
        self.vendor = props.get(tiffslide.PROPERTY_NAME_VENDOR) or "generic-tiff"
        # Added levels (level_at_mpp): level -> the stored level it is resampled from.
        self._resampled: dict[int, int] = {}

    # -- geometry ----------------------------------------------------------------------

    def check_level(self, level: int) -> int:
        """``level`` if it exists, else a ValueError naming the file and the valid levels."""
        if not isinstance(level, (int, np.integer)) or not 0 <= int(level) < self.level_count:
            raise ValueError(
                f"{self.path}: level {level!r} does not exist; valid levels are 0..{self.level_count - 1} "
                f"(sizes {', '.join(f'{w}x{h}' for w, h in self.level_dimensions)})."
            )
        return int(level)

    def level_shape(self, level: int) -> tuple[int, int]:
        """``(height, width)`` of a level, numpy order."""
        w, h = self.level_dimensions[self.check_level(level)]
        return h, w

    def level_scale(self, level: int) -> tuple[float, float]:
        """Level-0 pixels per pixel of ``level`` along ``(x, y)``, from the exact level sizes."""
        w0, h0 = self.level_dimensions[0]
        w, h = self.level_dimensions[self.check_level(level)]
        return w0 / w, h0 / h

    def level_mpp(self, level: int) -> tuple[float, float] | None:
        """Microns per pixel ``(x, y)`` at ``level``, or ``None`` when the slide has no resolution."""
        if self.mpp is None:
            return None
        sx, sy = self.level_scale(level)
        return self.mpp[0] * sx, self.mpp[1] * sy

    def level_for_mpp(self, mpp: float) -> int:
        """The level whose resolution is closest to ``mpp`` microns per pixel (in log ratio).

        Raises:
          ValueError: when the slide has no resolution, or ``mpp`` is not positive.
        """
        if not mpp or mpp <= 0:
            raise ValueError(f"mpp must be a positive number of microns per pixel, got {mpp!r}.")
        if self.mpp is None:
            raise ValueError(
                f"{self.path} does not record its resolution (no mpp metadata or TIFF resolution tags), "
                f"so mpp={mpp} cannot choose a level; pass a level instead (0..{self.level_count - 1})."
            )
        errors = [abs(math.log(self.level_mpp(k)[0] / mpp)) for k in range(self.level_count)]
        return int(np.argmin(errors))

    def level_at_mpp(self, mpp: float) -> int:
        """A level at ``mpp`` microns per pixel: a stored one within 10 %, else a resampled one.

        The added level (numbered after the stored ones) is read from the coarsest stored
        level at least as fine as ``mpp`` (level 0 when ``mpp`` is finer than every level) and
        resampled on every read: area interpolation when shrinking, bilinear when enlarging.

        Raises:
          ValueError: when the slide has no resolution, or ``mpp`` is not positive.
        """
        nearest = self.level_for_mpp(mpp)  # an added level too: asking twice adds one level
        if abs(math.log(self.level_mpp(nearest)[0] / mpp)) <= math.log(MPP_TOLERANCE):
            return nearest
        stored = range(self.level_count - len(self._resampled))
        source = max((k for k in stored if self.level_mpp(k)[0] <= mpp), default=0)
        factor = mpp / self.mpp[0]  # level-0 pixels per pixel of the new level
        w0, h0 = self.level_dimensions[0]
        self.level_dimensions += ((max(1, round(w0 / factor)), max(1, round(h0 / factor))),)
        self.level_downsamples += (factor,)
        self.level_count += 1
        self._resampled[self.level_count - 1] = source
        return self.level_count - 1

    def resampled_from(self, level: int) -> int | None:
        """The stored level an added level (:meth:`level_at_mpp`) is read from; ``None`` for a stored level."""
        return self._resampled.get(self.check_level(level))

    def level_for_max_size(self, max_size: int) -> int:
        """The finest level whose longer side is at most ``max_size`` (else the coarsest)."""
        for k, (w, h) in enumerate(self.level_dimensions):
            if max(w, h) <= max_size:
                return k
        return self.level_count - 1

    # -- pixels ------------------------------------------------------------------------

    def read_region(self, *, x: int, y: int, width: int, height: int, level: int = 0) -> np.ndarray:
        """Pixels of a rectangle of ``level``, in that level's coordinates.

        Parts outside the level are filled with white (glass), so the result always has
        the requested size.

        Returns:
          ``(height, width, 3)`` uint8 RGB.
        """
        level = self.check_level(level)
        if width < 0 or height < 0:
            raise ValueError(f"{self.path}: region size must be >= 0, got {width}x{height}.")
        if level in self._resampled:
            return self._read_resampled(x=x, y=y, width=width, height=height, level=level)
        lw, lh = self.level_dimensions[level]
        out = np.full((height, width, 3), 255, dtype=np.uint8)
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + width, lw), min(y + height, lh)
        if x1 <= x0 or y1 <= y0:
            return out
        ds = self.level_downsamples[level]
        # tiffslide maps level-0 locations to level pixels as int(loc / downsample); the
        # ceiling of level * downsample lands exactly on the level pixel we want.
        location = (math.ceil(x0 * ds), math.ceil(y0 * ds))
        arr = np.asarray(
            self._slide.read_region(location, level, (x1 - x0, y1 - y0), as_array=True, padding=False)
        )
        out[y0 - y:y1 - y, x0 - x:x1 - x] = _to_rgb(arr, self.path)
        return out

    def _read_resampled(self, *, x: int, y: int, width: int, height: int, level: int) -> np.ndarray:
        """A region of an added level: the stored level's pixels it covers, resampled to its size.

        The source rectangle is widened to whole source pixels, so the region lands within
        one source pixel of where it belongs (under one pixel of the added level when shrinking).
        """
        import cv2

        if width == 0 or height == 0:
            return np.full((height, width, 3), 255, dtype=np.uint8)
        source = self._resampled[level]
        sx, sy = self.level_scale(level)
        fx, fy = self.level_scale(source)
        rx, ry = sx / fx, sy / fy  # source pixels per pixel of the added level
        x0, y0 = math.floor(x * rx), math.floor(y * ry)
        x1, y1 = math.ceil((x + width) * rx), math.ceil((y + height) * ry)
        pixels = self.read_region(x=x0, y=y0, width=x1 - x0, height=y1 - y0, level=source)
        shrinking = rx >= 1 and ry >= 1
        return cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)

    def read_level(self, level: int) -> np.ndarray:
        """A whole level as ``(H, W, 3)`` uint8; for small (low-resolution) levels only."""
        h, w = self.level_shape(level)
        return self.read_region(x=0, y=0, width=w, height=h, level=level)

    def thumbnail(
        self, *, max_size: int = 2048, level: int | None = None, strip_rows: int = 1024
    ) -> tuple[np.ndarray, int, int]:
        """A downsampled RGB view of the slide, built strip by strip (bounded memory).

        The coarsest level at most ``max_size`` on its longer side is read whole; when
        every level is larger (single-level TIFFs), the finest level above that is read in
        strips of ``strip_rows`` rows and each strip shrunk by an integer factor.

        Args:
          max_size: bound on the thumbnail's longer side.
          level: read this level instead of choosing one.
          strip_rows: rows per strip when shrinking.

        Returns:
          ``(image, level, factor)``: the thumbnail, the level it was read from and the
          integer shrink factor applied to that level (1 when read as is).
        """
        import cv2

        if level is None:
            level = self.level_for_max_size(max_size)
        h, w = self.level_shape(level)
        factor = max(1, math.ceil(max(h, w) / max_size))
        if factor == 1:
            return self.read_level(level), level, 1
        out_h, out_w = -(-h // factor), -(-w // factor)
        out = np.empty((out_h, out_w, 3), dtype=np.uint8)
        rows = max(factor, strip_rows // factor * factor)
        for y in range(0, h, rows):
            strip = self.read_region(x=0, y=y, width=out_w * factor, height=min(rows, out_h * factor - y), level=level)
            small = cv2.resize(
                strip, (strip.shape[1] // factor, strip.shape[0] // factor), interpolation=cv2.INTER_AREA
            )
            out[y // factor:y // factor + small.shape[0]] = small
        return out, level, factor

    # -- lifetime ----------------------------------------------------------------------

    def close(self) -> None:
        self._slide.close()

    def __enter__(self) -> "SlideReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        mpp = f"{self.mpp[0]:.3f} um/px" if self.mpp else "unknown resolution"
        sizes = ", ".join(f"{w}x{h}" for w, h in self.level_dimensions)
        return f"SlideReader({self.path.name}: {self.vendor}, levels {sizes}, {mpp})"


def open_slide(path: str | Path) -> SlideReader:
    """Open a whole-slide image; see :class:`SlideReader`."""
    return SlideReader(path)


def is_slide(path: str | Path) -> bool:
    """Whether a file should be read as a whole-slide image rather than a plain image.

    SVS, NDPI, SCN and BIF files always are; a ``.tif`` / ``.tiff`` is when it is tiled
    or holds a pyramid (plain stripped TIFF photos are images). Only the header is read.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SLIDE_SUFFIXES:
        return False
    if suffix not in (".tif", ".tiff"):
        return True
    import tifffile

    try:
        with tifffile.TiffFile(path) as tf:
            series = tf.series[0]
            return bool(tf.pages[0].is_tiled or len(series.levels) > 1)
    except Exception:  # not a readable TIFF: let the image reader report it
        return False


def _to_rgb(arr: np.ndarray, path: Path) -> np.ndarray:
    if arr.dtype != np.uint8:
        raise ValueError(f"{path}: slide pixels are {arr.dtype}; lggseg reads 8-bit RGB slides only.")
    if arr.ndim == 2:
        arr = arr[..., None]
    channels = arr.shape[-1]
    if channels == 1:
        return np.repeat(arr, 3, axis=-1)
    if channels == 4:
        # Alpha marks pixels outside the scanned area: composite on white like glass.
        alpha = arr[..., 3:4].astype(np.uint16)
        return ((arr[..., :3] * alpha + 255 * (255 - alpha)) // 255).astype(np.uint8)
    if channels == 3:
        return arr
    raise ValueError(f"{path}: slide pixels have {channels} channels; expected RGB (3), RGBA (4) or gray (1).")
