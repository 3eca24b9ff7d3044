"""Reading image and mask files: uint8 RGB images and uint8 index masks, validated.

Every file is fully decoded when it is read, so a truncated or corrupt file fails here,
with its name, rather than as a grey block deep inside a training run. Images that are
not 8-bit RGB (grayscale, with an alpha channel, 16-bit, CMYK) are converted, with a
warning that names the file and what was done.
"""

from __future__ import annotations

import contextlib
import fnmatch
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

from lggseg.classes import IGNORE_INDEX, ClassScheme

__all__ = ["IMAGE_SUFFIXES", "MASK_SUFFIXES", "list_images", "read_image", "read_mask"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
# Masks are PNG only: JPEG compression changes colours and indices at region boundaries.
MASK_SUFFIXES = (".png",)

_GRAY_16 = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_WITH_ALPHA = ("RGBA", "RGBa", "LA", "La", "PA")


def list_images(directory: str | Path, *, pattern: str = "*") -> list[Path]:
    """Image files directly in ``directory`` whose stem matches ``pattern``, sorted by stem.

    Args:
      directory: the folder to list (not searched recursively).
      pattern: a shell-style glob on the file stem, e.g. ``'W30-*'``.

    Returns:
      Paths with one of :data:`IMAGE_SUFFIXES` (any letter case); hidden files are skipped.

    Raises:
      FileNotFoundError: when ``directory`` is not a folder.
      ValueError: when two files share a stem (e.g. ``a.png`` and ``a.jpg``), which would
        make the image <-> mask pairing ambiguous.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a folder.")
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES or not fnmatch.fnmatchcase(path.stem, pattern):
            continue
        if path.stem in found:
            raise ValueError(
                f"{directory}: two images share the stem {path.stem!r} ({found[path.stem].name}, "
                f"{path.name}); keep one, since masks are matched by stem."
            )
        found[path.stem] = path
    return [found[stem] for stem in sorted(found)]


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as uint8 RGB ``(H, W, 3)``.

    Grayscale images are replicated to three channels, images with an alpha channel are
    composited on white (slide background), 16-bit images are scaled from 0..65535 to
    0..255 and other colour modes (CMYK, YCbCr) converted to RGB; each with a warning
    naming the file.

    Raises:
      FileNotFoundError: when ``path`` does not exist.
      ValueError: naming the file, when it cannot be decoded (not an image, truncated,
        corrupt) or holds floating-point pixels.
    """
    path = Path(path)
    data = _read_bytes(path)
    with _open_checked(path, data) as (im, sixteen_bit):
        mode = im.mode
        if mode == "RGB" and not sixteen_bit:
            return np.array(im, dtype=np.uint8)
        if mode == "P":
            # A palette image is a lossless colour encoding; converting needs no warning.
            has_alpha = "transparency" in im.info
            arr = np.asarray(im.convert("RGBA" if has_alpha else "RGB"))
            return _composite_on_white(arr) if has_alpha else arr.copy()
        if mode in ("L", "1"):
            _warn(path, f"grayscale ({mode}) image replicated to RGB; H&E colour is missing, "
                        "so tissue detection by saturation finds no tissue in it")
            return np.repeat(np.asarray(im.convert("L"))[..., None], 3, axis=-1)
        if mode in _GRAY_16:
            _warn(path, f"16-bit grayscale ({mode}) image scaled to 8 bits and replicated to RGB")
            gray = _scale_16_to_8(np.clip(np.asarray(im).astype(np.int64), 0, 65535))
            return np.repeat(gray[..., None], 3, axis=-1)
        if mode == "F":
            raise ValueError(
                f"{path}: floating-point ({mode}) images are not supported; save it as 8-bit "
                f"RGB ({', '.join(IMAGE_SUFFIXES)})."
            )
        if sixteen_bit:
            _warn(path, f"16-bit {mode} image scaled to 8 bits per channel")
            return _read_16_bit_colour(path, data, im)
        if mode in _WITH_ALPHA:
            _warn(path, f"{mode} image composited on white, so transparent pixels become background")
            return _composite_on_white(np.asarray(im.convert("RGBA")))
        _warn(path, f"{mode} image converted to RGB")
        return np.array(im.convert("RGB"), dtype=np.uint8)


def read_mask(path: str | Path, *, scheme: ClassScheme) -> np.ndarray:
    """Read a mask file as uint8 class indices ``(H, W)`` in ``scheme``.

    * A single-channel PNG (mode ``L``, ``1`` or 16-bit) holds the class indices directly.
    * A palette PNG (mode ``P``) whose used palette colours are all colours of ``scheme``
      is decoded by colour (this covers colour masks saved as indexed images and the masks
      :func:`lggseg.data.write_crop_masks` writes); otherwise its values are the indices.
    * An RGB PNG is colour-coded and decoded with :meth:`ClassScheme.decode_rgb`
      (an RGBA one likewise, ignoring alpha, with a warning if it is not opaque).

    Raises:
      FileNotFoundError: when ``path`` does not exist.
      ValueError: naming the file, when it cannot be decoded, a colour is not in the
        palette (listing the colours and their pixel counts), or an index is
        ``>= scheme.num_classes`` and not :data:`~lggseg.classes.IGNORE_INDEX` (255,
        unlabelled; listing the values found).
    """
    path = Path(path)
    data = _read_bytes(path)
    with _open_checked(path, data) as (im, _):
        mode = im.mode
        if mode == "RGB":
            return scheme.decode_rgb(np.asarray(im), source=str(path))
        if mode == "RGBA":
            rgba = np.asarray(im)
            if (rgba[..., 3] != 255).any():
                _warn(path, "RGBA mask is not fully opaque; its alpha channel is ignored")
            return scheme.decode_rgb(rgba[..., :3], source=str(path))
        if mode == "P":
            indices = np.asarray(im)
            by_colour = _palette_to_scheme(im, indices, scheme)
            if by_colour is not None:
                return by_colour[indices]
        elif mode in ("L", "1", *_GRAY_16):
            indices = np.asarray(im)
        else:
            raise ValueError(
                f"{path}: a mask must be a single-channel index PNG (L or P) or an RGB "
                f"colour-coded PNG; got mode {mode}."
            )
    return _checked_indices(path, indices, scheme)


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist or is not a file.")
    return path.read_bytes()


@contextlib.contextmanager
def _open_checked(path: Path, data: bytes) -> Iterator[tuple[Image.Image, bool]]:
    """Open and fully decode ``data``; yields the PIL image and whether it is 16-bit colour."""
    import io

    # PIL can be told globally to pad truncated files with grey; a data set must never
    # be read that way, so the flag is forced off while this file decodes. PIL's own
    # decompression-bomb limit is replaced by lggseg's stated one (max_image_pixels()).
    saved = ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS
    ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS = False, None
    try:
        im = Image.open(io.BytesIO(data))
        _check_size(path, im.size)
        # PIL silently keeps the high byte of 16-bit RGB PNG/TIFF; the raw mode tells.
        sixteen_bit = any(";16" in str(tile.args) for tile in (im.tile or ()))
        im.load()
    except ImageTooLarge:
        raise
    except Image.UnidentifiedImageError as err:
        raise ValueError(
            f"{path}: not an image in a format lggseg reads (PNG, JPEG or TIFF expected); "
            f"replace it with a complete copy or remove it from the folder."
        ) from err
    except Exception as err:  # PIL raises OSError, SyntaxError, ValueError, EOFError, ...
        reason = str(err) or type(err).__name__
        raise ValueError(
            f"{path}: cannot read this image ({reason}). The file is truncated, corrupt or "
            f"not an image; replace it with a complete copy or remove it from the folder."
        ) from err
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS = saved
    im = _upright(path, im)
    try:
        yield im, sixteen_bit
    finally:
        im.close()


# Images larger than this are not read whole: 20000 x 20000 RGB is 1.2 GB as uint8.
DEFAULT_MAX_IMAGE_PIXELS = 20000 * 20000


def max_image_pixels() -> int:
    """The largest image read whole, in pixels: ``$LGGSEG_MAX_IMAGE_PIXELS`` or 400 million."""
    import os

    value = os.environ.get("LGGSEG_MAX_IMAGE_PIXELS", "")
    try:
        return int(value) if value else DEFAULT_MAX_IMAGE_PIXELS
    except ValueError:
        raise ValueError(f"LGGSEG_MAX_IMAGE_PIXELS={value!r} is not a whole number of pixels.") from None


class ImageTooLarge(ValueError):
    """An image with more pixels than :func:`max_image_pixels` (read it as a slide instead)."""


def _check_size(path: Path, size: tuple[int, int]) -> None:
    limit = max_image_pixels()
    if size[0] * size[1] > limit:
        raise ImageTooLarge(
            f"{path}: {size[0]}x{size[1]} = {size[0] * size[1]:,} pixels is more than lggseg reads whole "
            f"({limit:,}, LGGSEG_MAX_IMAGE_PIXELS). Convert it to a pyramidal TIFF and predict it as a "
            f"slide (lggseg predict RUN slide.tif, bounded memory), or raise LGGSEG_MAX_IMAGE_PIXELS "
            f"if the machine has the memory."
        )


def _upright(path: Path, im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation (as viewers show the image, and as masks are drawn on it)."""
    orientation = im.getexif().get(0x0112, 1)
    if orientation in (None, 1):
        return im
    from PIL import ImageOps

    _warn(path, f"rotated/flipped by its EXIF orientation {orientation}, as image viewers show it")
    upright = ImageOps.exif_transpose(im)
    im.close()
    return upright


def _read_16_bit_colour(path: Path, data: bytes, im: Image.Image) -> np.ndarray:
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3:
        # OpenCV cannot decode every TIFF variant; PIL's high byte is the 8-bit value.
        return _composite_on_white(np.asarray(im.convert("RGBA")))
    arr = _scale_16_to_8(arr)
    if arr.shape[-1] == 4:
        return _composite_on_white(cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA))
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)


def _scale_16_to_8(arr: np.ndarray) -> np.ndarray:
    return ((arr.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    rgb = rgba[..., :3].astype(np.float32)
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    return np.rint(rgb * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


def _palette_to_scheme(im: Image.Image, indices: np.ndarray, scheme: ClassScheme) -> np.ndarray | None:
    """Lookup palette index -> class index when every used palette colour is a class colour."""
    raw = im.getpalette()
    if not raw:
        return None
    palette = np.asarray(raw, dtype=np.int64).reshape(-1, 3)
    used = np.unique(indices)
    if used.max() >= len(palette):
        return None
    colours = {tuple(int(v) for v in c): i for i, c in enumerate(scheme.colours)}
    lut = np.zeros(256, dtype=np.uint8)
    for index in used:
        colour = tuple(int(v) for v in palette[index])
        if colour not in colours:
            return None
        lut[index] = colours[colour]
    return lut


def _checked_indices(path: Path, indices: np.ndarray, scheme: ClassScheme) -> np.ndarray:
    values, counts = np.unique(indices, return_counts=True)
    bad = (values >= scheme.num_classes) & (values != IGNORE_INDEX)
    if bad.any():
        found = ", ".join(f"{int(v)}: {int(c)} px" for v, c in zip(values, counts))
        raise ValueError(
            f"{path}: index mask holds values {[int(v) for v in values[bad]]} outside "
            f"0..{scheme.num_classes - 1} ({', '.join(scheme.codes)}) and not {IGNORE_INDEX} "
            f"(unlabelled); values found: {found}. "
            f"Use a palette.tsv that declares these classes, or save colour-coded masks as RGB."
        )
    return indices.astype(np.uint8)


def _warn(path: Path, what: str) -> None:
    warnings.warn(f"{path}: {what}.", UserWarning, stacklevel=3)
