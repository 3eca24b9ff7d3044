"""Cropped region images whose file name carries the class, with tissue-aware masks.

A crop such as ``231920_04_LE1_preprocessed.png`` shows one annotated region (here
Leading Edge) cut out of a slide, usually with white or transparent surroundings. Its
mask gives the named class to tissue pixels only (:func:`lggseg.data.detect_tissue`)
and Background to the rest, so that a model does not learn to call white background LE.
This is the seed project's ``generate_crop_masks_with_tissue_detection.py``.

The class token is one of ``LE``, ``IT``, ``CT`` (any letter case), standing between
``_``/``-`` separators or the ends of the stem, optionally followed by one digit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from lggseg.classes import LGG_4
from lggseg.data.io import IMAGE_SUFFIXES, list_images, read_image
from lggseg.data.source import DataSource, Sample, parse_group
from lggseg.data.tissue import detect_tissue

__all__ = ["CLASS_TOKENS", "CropMask", "CropSource", "crop_mask", "parse_class_token", "write_crop_masks"]

log = logging.getLogger(__name__)

CLASS_TOKENS = ("LE", "IT", "CT")
# The separator before a token is consumed, the one after only looked at, so that
# adjacent tokens ("x_LE_IT") are both found.
_TOKEN = re.compile(r"(?:^|[_-])(" + "|".join(CLASS_TOKENS) + r")\d?(?=$|[_-])", re.IGNORECASE)


def parse_class_token(name: str) -> str | None:
    """The LGG class code carried by a crop's file name, or None if it carries none.

    Args:
      name: a file name or stem, e.g. ``'231920_04_LE1_preprocessed.png'`` -> ``'LE'``.
        The suffix is ignored. The same token twice (``'a_LE1_le2'``) is fine.

    Raises:
      ValueError: when the name carries two different class tokens (``'a_LE_IT'``).
    """
    codes = _tokens(name)
    if len(codes) > 1:
        raise ValueError(f"{name}: {_two_tokens(codes)}")
    return codes[0] if codes else None


def _tokens(name: str) -> list[str]:
    # Only a known image suffix is dropped: 'W3-1-1-A.1.01' has dots in its stem.
    stem = Path(name).stem if Path(name).suffix.lower() in IMAGE_SUFFIXES else name
    return sorted({m.group(1).upper() for m in _TOKEN.finditer(stem)})


def _two_tokens(codes: list[str]) -> str:
    return (
        f"the name carries {len(codes)} different class tokens ({', '.join(codes)}); a crop must "
        f"name exactly one of {', '.join(CLASS_TOKENS)}."
    )


def crop_mask(
    image: np.ndarray,
    *,
    code: str,
    saturation_min: int = 15,
    value_max: int = 240,
    kernel_size: int = 5,
) -> np.ndarray:
    """Tissue-aware LGG_4 index mask of one crop: tissue pixels -> ``code``, the rest BG.

    Returns:
      ``(H, W)`` uint8 indices in :data:`lggseg.classes.LGG_4`.
    """
    tissue = detect_tissue(image, saturation_min=saturation_min, value_max=value_max, kernel_size=kernel_size)
    mask = np.full(tissue.shape, LGG_4.index("BG"), dtype=np.uint8)
    mask[tissue] = LGG_4.index(code)
    return mask


class CropMask(NamedTuple):
    """One mask written by :func:`write_crop_masks`."""

    name: str
    code: str
    tissue_fraction: float
    path: Path


class CropSource(DataSource):
    """Crops in ``directory`` (not recursive), each masked by its name's class and its tissue.

    Files whose name carries no class token, or two different ones, are skipped and
    listed in ``self.skipped`` (and logged); unreadable files raise, as in every source.

    Args:
      directory: the folder of crop images (.png .jpg .jpeg .tif .tiff).
      pattern: shell-style glob on the file stems.
      group_pattern: regular expression whose first group gives the patient/slide group,
        e.g. ``r'^(\\d+)_'`` for ``231920_04_LE1_preprocessed``; None: one group per crop.
      saturation_min, value_max, kernel_size: the tissue rule, see :func:`detect_tissue`.

    Attributes:
      skipped: ``(file name, reason)`` per skipped file.
      scheme: always :data:`lggseg.classes.LGG_4`.

    Raises:
      FileNotFoundError: when ``directory`` does not exist.
      ValueError: naming the file, when an image is unreadable; when no crop is usable.
    """

    def __init__(
        self,
        *,
        directory: str | Path,
        pattern: str = "*",
        group_pattern: str | None = None,
        saturation_min: int = 15,
        value_max: int = 240,
        kernel_size: int = 5,
    ):
        self.directory = Path(directory)
        self.skipped: list[tuple[str, str]] = []
        samples = []
        for path, code, reason in _crops(self.directory, pattern):
            if code is None:
                self.skipped.append((path.name, reason))
                log.warning("Skipping crop %s: %s", path, reason)
                continue
            image = read_image(path)
            mask = crop_mask(
                image, code=code, saturation_min=saturation_min, value_max=value_max, kernel_size=kernel_size
            )
            samples.append(Sample(image=image, mask=mask, name=path.stem, group=parse_group(path.stem, group_pattern)))
        if not samples:
            why = "; ".join(f"{n}: {r}" for n, r in self.skipped[:5]) or "the folder holds no images"
            raise ValueError(f"{self.directory}: no usable crop matches pattern {pattern!r} ({why}).")
        super().__init__(samples=samples, scheme=LGG_4)


def write_crop_masks(
    directory: str | Path,
    out: str | Path,
    *,
    pattern: str = "*",
    saturation_min: int = 15,
    value_max: int = 240,
    kernel_size: int = 5,
) -> tuple[list[CropMask], list[tuple[str, str]]]:
    """Write the tissue-aware mask of every crop in ``directory`` to ``out/<stem>.png``.

    The masks are palette PNGs: their pixel values are LGG_4 indices (BG=0, CT=1, LE=2,
    IT=3) and their palette holds the LGG_4 colours, so they also look right in a viewer.
    Crops are processed one at a time, so the folder may be larger than memory.

    Returns:
      ``(written, skipped)``: a :class:`CropMask` per mask written, and ``(file name,
      reason)`` per crop skipped for having no or two class tokens or being unreadable.

    Raises:
      FileNotFoundError: when ``directory`` does not exist.
      ValueError: when ``out`` is ``directory`` itself (masks would overwrite PNG crops).
    """
    from PIL import Image

    directory, out = Path(directory), Path(out)
    if out.resolve() == directory.resolve():
        raise ValueError(
            f"--out {out} is the crops folder itself; the masks would overwrite PNG crops. Choose another folder."
        )
    written: list[CropMask] = []
    skipped: list[tuple[str, str]] = []
    crops = list(_crops(directory, pattern))
    if crops:
        out.mkdir(parents=True, exist_ok=True)
    palette = np.zeros((256, 3), np.uint8)
    palette[: LGG_4.num_classes] = LGG_4.palette_array()
    for path, code, reason in crops:
        if code is None:
            skipped.append((path.name, reason))
            continue
        try:
            image = read_image(path)
        except ValueError as err:
            skipped.append((path.name, str(err)))
            continue
        mask = crop_mask(image, code=code, saturation_min=saturation_min, value_max=value_max, kernel_size=kernel_size)
        target = out / f"{path.stem}.png"
        png = Image.fromarray(mask)
        png.putpalette(palette.ravel().tolist())  # turns the L image into a P image
        png.save(target)
        fraction = float((mask != LGG_4.index("BG")).mean())
        written.append(CropMask(name=path.stem, code=code, tissue_fraction=fraction, path=target))
    return written, skipped


def _crops(directory: Path, pattern: str) -> Iterator[tuple[Path, str | None, str]]:
    """``(path, class code or None, reason when None)`` for every image in ``directory``."""
    for path in list_images(directory, pattern=pattern):
        codes = _tokens(path.stem)
        if not codes:
            yield path, None, f"the name carries no class token ({', '.join(CLASS_TOKENS)})."
        elif len(codes) > 1:
            yield path, None, _two_tokens(codes)
        else:
            yield path, codes[0], ""
