"""The resolution a model sees its input at, recorded with the run so that prediction matches it.

A run trained on images read at a quarter of their size (``folder_source.scale = 0.25``) has
learned tissue at that magnification; fed the full-size image it sees cells four times too
large. So the trainer writes ``resolution.json`` into the run directory: the ``scale`` the
training images were resampled by on reading, and their microns per pixel after it when the
source knows them (``folder_source.mpp``). ``lggseg predict`` resamples plain images by the
scale (and maps the class map back to the image's size), ``lggseg evaluate --data`` reads at it,
slides are read at the level nearest the recorded microns per pixel, and ``lggseg export``
writes both into ``preprocessing.json``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

__all__ = ["RESOLUTION_FILE", "Resolution", "resample", "scaled_size"]

RESOLUTION_FILE = "resolution.json"


def scaled_size(shape: tuple[int, ...], scale: float) -> tuple[int, int]:
    """``(width, height)`` of an image of ``shape`` (rows, columns, ...) resampled by ``scale`` (cv2 order)."""
    return max(1, round(shape[1] * scale)), max(1, round(shape[0] * scale))


def resample(array: Any, *, size: tuple[int, int], labels: bool = False) -> Any:
    """An image (area interpolation: no aliasing) or a label map (nearest) resampled to ``size`` (w, h)."""
    import cv2

    if (array.shape[1], array.shape[0]) == tuple(size):
        return array
    return cv2.resize(array, tuple(size), interpolation=cv2.INTER_NEAREST if labels else cv2.INTER_AREA)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Resolution:
    """How the training images were sized.

    Attributes:
      scale: the factor the image files were resampled by on reading (1.0: as stored).
      mpp: microns per pixel of the images as the model saw them (after ``scale``), or None
        when the source does not know its resolution.
    """

    scale: float = 1.0
    mpp: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"Resolution: scale must be a positive number, got {self.scale!r}.")
        if self.mpp is not None and not (math.isfinite(self.mpp) and self.mpp > 0):
            raise ValueError(f"Resolution: mpp must be a positive number or None, got {self.mpp!r}.")

    @classmethod
    def of(cls, source: Any) -> "Resolution":
        """The resolution of a data source's samples (its ``scale`` and ``mpp``; defaults 1.0, None)."""
        return cls(scale=float(getattr(source, "scale", 1.0)), mpp=getattr(source, "mpp", None))

    def write(self, folder: str | Path) -> Path:
        from lggseg.atomic_write import atomic_write

        path = Path(folder) / RESOLUTION_FILE
        with atomic_write(path) as tmp:
            tmp.write_text(json.dumps(dataclasses.asdict(self), indent=2))
        return path

    @classmethod
    def read(cls, folder: str | Path) -> "Resolution | None":
        """The folder's ``resolution.json``, or None when there is none (runs before it was written)."""
        path = Path(folder) / RESOLUTION_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            return cls(scale=float(data["scale"]), mpp=None if data.get("mpp") is None else float(data["mpp"]))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path} is not a valid resolution record ({err}); delete it or rewrite it.") from err

    def describe(self) -> str:
        mpp = f"{self.mpp:.3g} um/px" if self.mpp is not None else "resolution unknown"
        return f"scale {self.scale:g} of the image files ({mpp})"
