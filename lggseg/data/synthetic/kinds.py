"""Tissue kinds: what draws a region. Several kinds may share one mask class.

Each kind sets the nuclei (density, size, shape, darkness, orientation) and the eosin
texture of the pixels it owns; the ranges overlap on purpose (see :data:`KINDS`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

BG, CT, LE, IT, NE, PAN, PNZ, MVP_WALL, MVP_LUMEN = range(9)
KIND_CODE = ("BG", "CT", "LE", "IT", "CTne", "CTpan", "CTpnz", "CTmvp", "CTmvp")
NUM_KINDS = len(KIND_CODE)

# Nuclear orientation: random, along the neuropil fibres, radial to necrosis (palisades),
# along the vessel (endothelium).
RANDOM, FIBRE, RADIAL, VESSEL = range(4)


@dataclasses.dataclass(frozen=True)
class Kind:
    density: float  # nuclei per pixel
    axis: float  # mean semi-major axis, px (IvyGAP-like magnification: nuclei of 2-4 px)
    axis_spread: float  # sd of log(axis): pleomorphism
    elongation: float  # mean major/minor axis ratio
    elongation_spread: float
    darkness: float  # hematoxylin concentration inside a nucleus (hyperchromasia)
    orientation: int
    eosin: float  # eosin concentration of the stroma / neuropil
    fibre: float  # weight of the fibrillary (oriented) eosin texture
    grain: float  # weight of the granular (isotropic) eosin texture
    haze: float  # diffuse hematoxylin (basophilic cytoplasm, out-of-focus nuclei)
    debris: float  # nuclear fragments per pixel (karyorrhexis)
    rbc: float  # red blood cells per pixel


# Ranges overlap on purpose: a CT patch of low density looks like IT, an IT patch near LE
# like LE; density and darkness also vary per tile and smoothly within a tile.
KINDS = (
    # density axis spread elong spread dark orientation eosin fibre grain haze debris rbc
    Kind(0.0, 1.0, 0.0, 1.0, 0.0, 0.0, RANDOM, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),  # BG
    Kind(0.055, 1.20, 0.28, 1.35, 0.25, 2.0, RANDOM, 0.38, 0.15, 0.35, 0.06, 0.0004, 0.0006),  # CT
    Kind(0.012, 0.90, 0.12, 1.25, 0.15, 1.8, RANDOM, 0.60, 0.45, 0.15, 0.02, 0.0, 0.0004),  # LE
    Kind(0.025, 1.00, 0.15, 2.0, 0.45, 1.9, FIBRE, 0.47, 0.40, 0.20, 0.04, 0.0, 0.0004),  # IT
    Kind(0.002, 1.10, 0.20, 1.3, 0.2, 1.5, RANDOM, 0.36, 0.0, 0.30, 0.05, 0.012, 0.002),  # CTne
    Kind(0.120, 1.10, 0.18, 2.3, 0.4, 2.3, RADIAL, 0.34, 0.0, 0.30, 0.10, 0.002, 0.0),  # CTpan
    Kind(0.060, 1.20, 0.24, 1.4, 0.25, 2.0, RANDOM, 0.38, 0.05, 0.40, 0.07, 0.002, 0.0005),  # CTpnz
    Kind(0.070, 1.15, 0.15, 2.6, 0.4, 2.0, VESSEL, 0.75, 0.0, 0.25, 0.04, 0.0, 0.01),  # CTmvp wall
    Kind(0.002, 1.00, 0.15, 2.0, 0.3, 1.8, VESSEL, 0.40, 0.0, 0.2, 0.0, 0.0, 0.30),  # CTmvp lumen
)


def table(field: str) -> np.ndarray:
    """One field of every kind, indexed by kind: ``table("density")[kind_map]``."""
    return np.asarray([getattr(k, field) for k in KINDS], dtype=np.float32)

