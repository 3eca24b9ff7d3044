"""Stain presets of the synthetic generator: H and E optical-density vectors and strengths.

The image is ``I = 255 * exp(-(C @ S))`` (Beer-Lambert) with the ``(2, 3)`` stain matrix ``S``
of a preset (Ruifrok & Johnston, Anal Quant Cytol Histol 23:291, 2001).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class StainPreset:
    """An H&E stain: two optical-density vectors and how strongly each stain took.

    Attributes:
      name: a label, e.g. ``'lgg'``.
      hematoxylin: OD vector (R, G, B) of hematoxylin; normalised to unit length.
      eosin: OD vector (R, G, B) of eosin; normalised to unit length.
      hematoxylin_strength: multiplies every hematoxylin concentration.
      eosin_strength: multiplies every eosin concentration.
    """

    name: str
    hematoxylin: tuple[float, float, float]
    eosin: tuple[float, float, float]
    hematoxylin_strength: float = 1.0
    eosin_strength: float = 1.0

    def __post_init__(self):
        for label, vec in (("hematoxylin", self.hematoxylin), ("eosin", self.eosin)):
            v = np.asarray(vec, dtype=np.float64)
            if v.shape != (3,) or not np.all(np.isfinite(v)) or np.any(v < 0) or v.sum() <= 0:
                raise ValueError(
                    f"Stain {self.name!r}: the {label} OD vector must be 3 non-negative numbers "
                    f"(R, G, B), not all zero; got {vec}."
                )
            object.__setattr__(self, label, tuple(float(x) for x in v / np.linalg.norm(v)))
        for label in ("hematoxylin_strength", "eosin_strength"):
            value = getattr(self, label)
            if not value > 0:
                raise ValueError(f"Stain {self.name!r}: {label} must be > 0, got {value}.")

    @property
    def matrix(self) -> np.ndarray:
        """``(2, 3)`` float32 stain matrix, rows hematoxylin and eosin, strengths applied."""
        return np.asarray(
            [
                np.asarray(self.hematoxylin) * self.hematoxylin_strength,
                np.asarray(self.eosin) * self.eosin_strength,
            ],
            dtype=np.float32,
        )


# OD vectors near those Macenko's method finds on the two IvyGAP series (W30 pink,
# W3 purple-blue), nudged apart so that the presets differ visibly in hue as well as in
# strength.
LGG_LAB = StainPreset(
    name="lgg",
    hematoxylin=(0.56, 0.74, 0.37),
    eosin=(0.14, 0.81, 0.57),
    hematoxylin_strength=0.85,
    eosin_strength=1.2,
)
GBM_LAB = StainPreset(
    name="gbm",
    hematoxylin=(0.62, 0.72, 0.32),
    eosin=(0.30, 0.78, 0.55),
    hematoxylin_strength=1.3,
    eosin_strength=1.25,
)
STAIN_PRESETS: dict[str, StainPreset] = {"lgg": LGG_LAB, "gbm": GBM_LAB}


def stain_preset(name: str) -> StainPreset:
    """``'lgg'`` or ``'gbm'`` -> the stain preset of that name."""
    if name not in STAIN_PRESETS:
        raise ValueError(f"Unknown stain preset {name!r}; valid: {', '.join(STAIN_PRESETS)}.")
    return STAIN_PRESETS[name]


def resolve_stain(stain: str | StainPreset | np.ndarray | Sequence) -> StainPreset:
    """A preset name, a :class:`StainPreset` or a ``(2, 3)`` OD matrix -> the preset."""
    if isinstance(stain, StainPreset):
        return stain
    if isinstance(stain, str):
        return stain_preset(stain)
    matrix = np.asarray(stain, dtype=np.float64)
    if matrix.shape != (2, 3):
        raise ValueError(
            f"A stain matrix must have shape (2, 3) (rows hematoxylin, eosin; columns R, G, B "
            f"optical density), got {matrix.shape}; or name a preset: {', '.join(STAIN_PRESETS)}."
        )
    return StainPreset(name="custom", hematoxylin=tuple(matrix[0]), eosin=tuple(matrix[1]))
