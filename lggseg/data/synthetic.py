"""Synthetic H&E tiles with exact masks: lggseg's embedded default data.

Images are composed the way a bright-field microscope forms them: per-pixel stain
concentrations (hematoxylin for nuclei, eosin for cytoplasm and neuropil) are mixed in
optical-density space and turned into RGB by the Beer-Lambert law,
``I = 255 * exp(-(C @ S))``, with a 2 x 3 stain matrix ``S`` whose rows are the unit
OD vectors of hematoxylin and eosin (Ruifrok & Johnston, "Quantification of
histochemical staining by color deconvolution", Anal Quant Cytol Histol 23:291, 2001).
Two stain presets, an "LGG lab" (pinker, stronger eosin) and a "GBM lab" (purple-blue,
stronger hematoxylin), give stain normalisation a real difference to undo.

Each tile's layout comes first: smooth random fields (blurred noise plus a ramp) cut by
quantiles into a tissue/background boundary, a cellular-tumour (CT) core, an
infiltrating (IT) band around it and a leading edge (LE) beyond; with 8 classes also
necrosis inside the core, pseudopalisades and a perinecrotic band around it, and
microvascular proliferation. Then every region is drawn by its own generator: nuclei as
anti-aliased hematoxylin ellipses whose density, size, elongation, orientation and
darkness depend on the region, eosin texture (fibrillary neuropil, granular tumour,
pale mottled necrosis), red blood cells and nuclear debris. The class of a pixel is the
region whose generator drew it. The regions differ statistically (nuclear density and
shape, texture), with overlapping ranges: IT density ramps from LE-like to CT-like across
the band, and density varies within a region and between tiles.

Tile ``i`` depends on ``(seed, i)`` only, so a subset or a longer run never shifts it.
The per-tile class shares follow a low-discrepancy (Sobol) sequence around the
target shares, so that the mean over a few dozen tiles stays close to the target while
single tiles vary widely (some without LE or IT).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from lggseg.classes import IVYGAP_8, LGG_4, ClassScheme, write_palette
from lggseg.data.source import DataSource, Sample

__all__ = [
    "StainPreset",
    "LGG_LAB",
    "GBM_LAB",
    "STAIN_PRESETS",
    "DEFAULT_SHARES",
    "stain_preset",
    "generate",
    "SyntheticSource",
    "write_dataset",
]


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

# Mean pixel shares over tiles. 4 classes: the seed's LGG data. 8 classes: the IvyGAP
# development set (../shared/data/ivygap/README.md), so the 8-class variant looks GBM-like.
DEFAULT_SHARES: dict[int, dict[str, float]] = {
    4: {"BG": 0.456, "CT": 0.371, "LE": 0.116, "IT": 0.057},
    8: {
        "LE": 0.045,
        "IT": 0.020,
        "CT": 0.474,
        "CTpnz": 0.036,
        "CTpan": 0.013,
        "CTmvp": 0.012,
        "CTne": 0.250,
        "BG": 0.150,
    },
}


def stain_preset(name: str) -> StainPreset:
    """``'lgg'`` or ``'gbm'`` -> the stain preset of that name."""
    if name not in STAIN_PRESETS:
        raise ValueError(f"Unknown stain preset {name!r}; valid: {', '.join(STAIN_PRESETS)}.")
    return STAIN_PRESETS[name]


def _resolve_stain(stain: str | StainPreset | np.ndarray | Sequence) -> StainPreset:
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


# --- tissue kinds: what draws a region. Several kinds may share one mask class. ----------

_BG, _CT, _LE, _IT, _NE, _PAN, _PNZ, _MVP_WALL, _MVP_LUMEN = range(9)
_KIND_CODE = ("BG", "CT", "LE", "IT", "CTne", "CTpan", "CTpnz", "CTmvp", "CTmvp")
_NUM_KINDS = len(_KIND_CODE)

# Nuclear orientation: random, along the neuropil fibres, radial to necrosis (palisades),
# along the vessel (endothelium).
_RANDOM, _FIBRE, _RADIAL, _VESSEL = range(4)


@dataclasses.dataclass(frozen=True)
class _Kind:
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
_KINDS = (
    # density axis spread elong spread dark orientation eosin fibre grain haze debris rbc
    _Kind(0.0, 1.0, 0.0, 1.0, 0.0, 0.0, _RANDOM, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),  # BG
    _Kind(0.055, 1.20, 0.28, 1.35, 0.25, 2.0, _RANDOM, 0.38, 0.15, 0.35, 0.06, 0.0004, 0.0006),  # CT
    _Kind(0.012, 0.90, 0.12, 1.25, 0.15, 1.8, _RANDOM, 0.60, 0.45, 0.15, 0.02, 0.0, 0.0004),  # LE
    _Kind(0.025, 1.00, 0.15, 2.0, 0.45, 1.9, _FIBRE, 0.47, 0.40, 0.20, 0.04, 0.0, 0.0004),  # IT
    _Kind(0.002, 1.10, 0.20, 1.3, 0.2, 1.5, _RANDOM, 0.36, 0.0, 0.30, 0.05, 0.012, 0.002),  # CTne
    _Kind(0.120, 1.10, 0.18, 2.3, 0.4, 2.3, _RADIAL, 0.34, 0.0, 0.30, 0.10, 0.002, 0.0),  # CTpan
    _Kind(0.060, 1.20, 0.24, 1.4, 0.25, 2.0, _RANDOM, 0.38, 0.05, 0.40, 0.07, 0.002, 0.0005),  # CTpnz
    _Kind(0.070, 1.15, 0.15, 2.6, 0.4, 2.0, _VESSEL, 0.75, 0.0, 0.25, 0.04, 0.0, 0.01),  # CTmvp wall
    _Kind(0.002, 1.00, 0.15, 2.0, 0.3, 1.8, _VESSEL, 0.40, 0.0, 0.2, 0.0, 0.0, 0.30),  # CTmvp lumen
)


def _kind_table(field: str) -> np.ndarray:
    return np.asarray([getattr(k, field) for k in _KINDS], dtype=np.float32)


# --- per-tile class shares --------------------------------------------------------------

# Share parameters drawn per tile: BG, LE, IT, then (8 classes) CTne, CTpan, CTpnz, CTmvp.
_SHARE_DIMS = 7
# Fraction of tiles without a given minor class, so that image-level oversampling has work.
_ABSENT = 0.3


# Joe & Kuo (2008) Sobol direction numbers (s, a, m_1..m_s) for dimensions 2..7;
# dimension 1 is the van der Corput sequence.
_JOE_KUO = (
    (1, 0, (1,)),
    (2, 1, (1, 3)),
    (3, 1, (1, 3, 1)),
    (3, 2, (1, 1, 1)),
    (4, 1, (1, 1, 3, 3)),
    (4, 4, (1, 3, 5, 13)),
)
_SOBOL_BITS = 32


def _sobol_directions() -> np.ndarray:
    v = np.zeros((_SHARE_DIMS, _SOBOL_BITS), dtype=np.uint64)
    v[0] = [1 << (_SOBOL_BITS - 1 - j) for j in range(_SOBOL_BITS)]
    for d, (s, a, m) in enumerate(_JOE_KUO, start=1):
        mm = list(m)
        for j in range(s, _SOBOL_BITS):
            new = mm[j - s] ^ (mm[j - s] << s)
            for k in range(1, s):
                new ^= ((a >> (s - 1 - k)) & 1) * (mm[j - k] << k)
            mm.append(new)
        v[d] = [mm[j] << (_SOBOL_BITS - 1 - j) for j in range(_SOBOL_BITS)]
    return v


_SOBOL = _sobol_directions()


def _share_point(seed: int, index: int) -> np.ndarray:
    """Point ``index`` of a digitally shifted Sobol sequence in ``[0, 1)^7``.

    Sobol points (Joe & Kuo, "Constructing Sobol sequences with better two-dimensional
    projections", SIAM J Sci Comput 30:2635, 2008) stratify the cube: any 2^m consecutive
    points from 0 put one point in each of 2^m equal slices of every axis, so means over
    a few dozen tiles stay close to their expectation, while each point is a function of
    (seed, index) only. The seeded XOR shift keeps that property.
    """
    shift = np.random.default_rng([seed, 0x5EED]).integers(0, 2**_SOBOL_BITS, _SHARE_DIMS, dtype=np.uint64)
    x = np.zeros(_SHARE_DIMS, dtype=np.uint64)
    bit = 0
    while index:
        if index & 1:
            x ^= _SOBOL[:, bit]
        index >>= 1
        bit += 1
    return (x ^ shift).astype(np.float64) / 2.0**_SOBOL_BITS


def _tile_shares(targets: Mapping[str, float], u: np.ndarray) -> dict[str, float]:
    """Shares of one tile (summing to 1) whose expectation over ``u`` is ``targets``.

    Background is uniform around its target. Each minor tissue class (LE, IT, necrosis,
    vessels) is absent from a fraction of the tiles and ramps up above it; pseudopalisades
    and the perinecrotic zone follow the tile's necrosis, around which they lie. CT takes
    the rest of the tissue, as the core the other regions are laid out in and around.
    """
    bg = targets.get("BG", 0.0)
    half = 0.95 * min(bg, 1.0 - bg)
    tile_bg = bg + half * (2.0 * u[0] - 1.0)
    tissue = max(1.0 - bg, 1e-9)

    # Tissue-relative means, the tile's raw draws, and the largest possible draws.
    minors = [("LE", 1), ("IT", 2)] + ([("CTne", 3), ("CTmvp", 6)] if "CTne" in targets else [])
    mean = {c: targets.get(c, 0.0) / tissue for c, _ in minors}
    # Zero on a fraction of the tiles (at most _ABSENT), a ramp above; its mean is the target.
    absent = {c: float(np.clip(1.0 - 2.0 * mean[c] / 0.6, 0.0, _ABSENT)) for c in mean}
    peak = {c: 2.0 * mean[c] / (1.0 - absent[c]) for c in mean}
    raw = {c: max(0.0, u[i] - absent[c]) / (1.0 - absent[c]) * peak[c] for c, i in minors}
    ratio = {"CTpan": 0.0, "CTpnz": 0.0}
    if mean.get("CTne", 0.0) > 0:
        ratio = {c: targets.get(c, 0.0) / tissue / mean["CTne"] for c in ratio}
    # Necrosis brings up to 1.5x its ratio of pseudopalisades and perinecrotic zone.
    weight = {c: 1.0 + (1.5 * sum(ratio.values()) if c == "CTne" else 0.0) for c in mean}
    # When the largest draws could crowd out CT, shrink the draws of the biggest classes
    # towards their means, biggest first: that keeps every expectation, and the small
    # classes keep their tiles without them.
    excess = sum(weight[c] * peak[c] for c in mean) - 0.95
    shrink = dict.fromkeys(mean, 1.0)
    for c in sorted(mean, key=lambda c: -weight[c] * (peak[c] - mean[c])):
        spread = weight[c] * (peak[c] - mean[c])
        if excess <= 1e-9 or spread <= 0:
            break
        shrink[c] = max(0.0, 1.0 - excess / spread)
        excess -= spread * (1.0 - shrink[c])
    rel = {c: mean[c] + shrink[c] * (raw[c] - mean[c]) for c in mean}
    if "CTne" in rel:
        rel["CTpan"] = rel["CTne"] * ratio["CTpan"] * (0.5 + u[4])
        rel["CTpnz"] = rel["CTne"] * ratio["CTpnz"] * (0.5 + u[5])
    total = sum(rel.values())
    if total > 0.95:  # only when the targets leave CT under 5 % of the tissue
        rel = {c: v * 0.95 / total for c, v in rel.items()}
    shares = {c: v * (1.0 - tile_bg) for c, v in rel.items()}
    shares["BG"] = tile_bg
    shares["CT"] = 1.0 - sum(shares.values())
    return shares


def _check_shares(num_classes: int, class_shares: Mapping[str, float] | None) -> dict[str, float]:
    scheme = _scheme(num_classes)
    if class_shares is None:
        return dict(DEFAULT_SHARES[num_classes])
    given = dict(class_shares)
    unknown = [c for c in given if c not in scheme.codes]
    missing = [c for c in scheme.codes if c not in given]
    if unknown or missing:
        raise ValueError(
            f"class_shares must give one share per class of the {num_classes}-class scheme "
            f"({', '.join(scheme.codes)}); unknown: {unknown}, missing: {missing}."
        )
    values = np.asarray(list(given.values()), dtype=np.float64)
    if np.any(values < 0) or abs(values.sum() - 1.0) > 1e-3:
        raise ValueError(f"class_shares must be >= 0 and sum to 1, got {given} (sum {values.sum():.4f}).")
    return given


def _scheme(num_classes: int) -> ClassScheme:
    if num_classes == 4:
        return LGG_4
    if num_classes == 8:
        return IVYGAP_8
    raise ValueError(f"num_classes must be 4 (LGG: BG, CT, LE, IT) or 8 (IvyGAP), got {num_classes}.")


# --- fields and drawing -----------------------------------------------------------------


def _smooth_field(rng: np.random.Generator, size: int, scale: float) -> np.ndarray:
    """Zero-mean, unit-sd random field whose features are about ``scale`` pixels wide."""
    # Blurred noise on a coarse grid, upsampled: the cost does not grow with the scale.
    n = int(np.clip(round(2 * size / scale), 2, size)) + 2
    noise = rng.standard_normal((n, n), dtype=np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT)
    field = cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)
    return (field - field.mean()) / (field.std() + 1e-6)


def _ramp(rng: np.random.Generator, size: int) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    grid = (np.arange(size, dtype=np.float32) - size / 2) / size * 2.0
    return np.cos(angle) * grid[None, :] + np.sin(angle) * grid[:, None]


def _lowest(values: np.ndarray, where: np.ndarray, count: int) -> np.ndarray:
    """Boolean mask of the ``count`` pixels of ``where`` with the lowest ``values``."""
    out = np.zeros(values.shape, dtype=bool)
    idx = np.flatnonzero(where)
    count = int(min(max(count, 0), idx.size))
    if count == 0:
        return out
    vals = values.ravel()[idx]
    pick = np.argpartition(vals, count - 1)[:count] if count < idx.size else np.arange(idx.size)
    out.ravel()[idx[pick]] = True
    return out


@dataclasses.dataclass
class _Layout:
    kind: np.ndarray  # (H, W) int8 tissue kind
    it_depth: np.ndarray  # (H, W) float32, 0 at the LE side of the IT band, 1 at the CT side
    radial: np.ndarray | None  # (H, W) angle away from necrosis
    vessel: np.ndarray | None  # (H, W) angle along vessels


def _layout(rng: np.random.Generator, size: int, shares: Mapping[str, float], eight: bool) -> _Layout:
    n = size * size
    counts = {c: int(round(v * n)) for c, v in shares.items()}
    kind = np.full((size, size), _CT, dtype=np.int8)

    # Tissue edge: a ramp gives one main boundary; finer noise makes it ragged.
    tissue_field = (
        _ramp(rng, size)
        + 0.6 * _smooth_field(rng, size, size / 3)
        + 0.25 * _smooth_field(rng, size, size / 12)
        + 0.08 * _smooth_field(rng, size, size / 40)
    )
    everywhere = np.ones((size, size), dtype=bool)
    bg = _lowest(tissue_field, everywhere, counts["BG"])
    kind[bg] = _BG
    tissue = ~bg

    # Depth into the tumour: LE lowest, then the IT band, CT highest. The fine terms make
    # the IT band finger into LE and CT instead of following a contour line.
    depth = (
        _ramp(rng, size)
        + 0.7 * _smooth_field(rng, size, size / 3)
        + 0.3 * _smooth_field(rng, size, size / 10)
        + 0.15 * _smooth_field(rng, size, size / 30)
    )
    le = _lowest(depth, tissue, counts["LE"])
    it = _lowest(depth, tissue & ~le, counts["IT"])
    kind[le] = _LE
    kind[it] = _IT
    it_depth = np.zeros((size, size), dtype=np.float32)
    if it.any():
        lo, hi = depth[it].min(), depth[it].max()
        it_depth[it] = (depth[it] - lo) / max(hi - lo, 1e-6)

    radial = vessel = None
    if eight:
        core = kind == _CT
        # Necrosis sits deep in the core.
        necro_field = -(
            _smooth_field(rng, size, size / 5) + 0.3 * _smooth_field(rng, size, size / 20) + 0.8 * depth
        )
        necro = _lowest(necro_field, core, counts.get("CTne", 0))
        kind[necro] = _NE
        core &= ~necro
        if necro.any():
            dist = cv2.distanceTransform((~necro).astype(np.uint8), cv2.DIST_L2, 5)
            gy, gx = np.gradient(dist)
            radial = np.arctan2(gy, gx).astype(np.float32)
            # A wavy band, not a perfect offset of the necrosis outline.
            band = dist + 2.0 * _smooth_field(rng, size, size / 25)
            pan = _lowest(band, core, counts.get("CTpan", 0))
            kind[pan] = _PAN
            core &= ~pan
            pnz = _lowest(band, core, counts.get("CTpnz", 0))
            kind[pnz] = _PNZ
            core &= ~pnz
        # Microvascular proliferation: a glomeruloid tuft, a cluster of small vessels,
        # each a lumen full of red cells inside a wall of endothelial nuclei. Pixels are
        # ranked by their distance to the nearest vessel centre in units of its radius.
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        tuft = np.full((size, size), np.inf, dtype=np.float32)
        owner = np.zeros((size, size), dtype=np.float32)  # angle around the nearest vessel
        core_idx = np.flatnonzero(core)
        if core_idx.size:
            centre = divmod(int(core_idx[rng.integers(core_idx.size)]), size)
            for _ in range(int(rng.integers(3, 9))):
                cy_, cx_ = np.asarray(centre) + rng.normal(0, size / 25, 2)
                r = rng.uniform(3.0, 6.0)
                q = np.hypot(yy - cy_, xx - cx_) / r
                closer = q < tuft
                tuft = np.where(closer, q, tuft)
                owner = np.where(closer, np.arctan2(yy - cy_, xx - cx_), owner)
        tube = tuft + 0.15 * _smooth_field(rng, size, size / 20)
        mvp = _lowest(tube, core, counts.get("CTmvp", 0))
        kind[mvp] = _MVP_WALL
        kind[_lowest(tube, mvp, int(0.35 * mvp.sum()))] = _MVP_LUMEN
        # Endothelial nuclei lie along the vessel wall: tangential orientation.
        vessel = (owner + np.pi / 2).astype(np.float32)
    return _Layout(kind=kind, it_depth=it_depth, radial=radial, vessel=vessel)


def _stamp(
    size: int,
    cy: np.ndarray,
    cx: np.ndarray,
    major: np.ndarray,
    minor: np.ndarray,
    angle: np.ndarray,
    value: np.ndarray,
) -> np.ndarray:
    """Sum of anti-aliased filled ellipses, splatted in vectorised batches; ``(size, size)``."""
    out = np.zeros(size * size, dtype=np.float64)
    batch = 20000  # bounds the (batch, k, k) temporaries on large tiles
    for start in range(0, cy.size, batch):
        part = slice(start, start + batch)
        out += _splat(size, cy[part], cx[part], major[part], minor[part], angle[part], value[part])
    return out.reshape(size, size).astype(np.float32)


def _splat(
    size: int,
    cy: np.ndarray,
    cx: np.ndarray,
    major: np.ndarray,
    minor: np.ndarray,
    angle: np.ndarray,
    value: np.ndarray,
) -> np.ndarray:
    radius = int(min(5, np.ceil(major.max()) + 1))
    k = np.arange(-radius, radius + 1, dtype=np.int32)
    iy = np.floor(cy).astype(np.int32)[:, None, None] + k[None, :, None]
    ix = np.floor(cx).astype(np.int32)[:, None, None] + k[None, None, :]
    dy = iy + 0.5 - cy[:, None, None].astype(np.float32)
    dx = ix + 0.5 - cx[:, None, None].astype(np.float32)
    c = np.cos(angle)[:, None, None].astype(np.float32)
    s = np.sin(angle)[:, None, None].astype(np.float32)
    u = (dx * c + dy * s) / major[:, None, None]
    w = (dy * c - dx * s) / minor[:, None, None]
    rho = np.sqrt(u * u + w * w)
    # (1 - rho) * minor approximates the distance to the outline in pixels: a 1-px ramp.
    cover = np.clip((1.0 - rho) * minor[:, None, None] + 0.5, 0.0, 1.0) * value[:, None, None]
    inside = (iy >= 0) & (iy < size) & (ix >= 0) & (ix < size) & (cover > 0)
    flat = (iy * size + ix)[inside]
    return np.bincount(flat, weights=cover[inside], minlength=size * size)


def _fibres(rng: np.random.Generator, size: int, angle: float) -> np.ndarray:
    """Unit-sd fibrillary texture: noise smeared along directions that bend across the tile."""
    noise = cv2.GaussianBlur(rng.standard_normal((size, size), dtype=np.float32), (0, 0), 0.6)
    half = 7
    t = np.arange(-half, half + 1, dtype=np.float32)
    yy, xx = np.meshgrid(t, t, indexing="ij")
    layers = []
    for a in (angle - 0.35, angle + 0.35):
        along = xx * np.cos(a) + yy * np.sin(a)
        across = -xx * np.sin(a) + yy * np.cos(a)
        kernel = np.exp(-0.5 * (across / 0.6) ** 2 - 0.5 * (along / 3.5) ** 2).astype(np.float32)
        layers.append(cv2.filter2D(noise, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT))
    # A smooth weight blends the two directions, so fibres curve instead of running straight.
    w = 1.0 / (1.0 + np.exp(-2.0 * _smooth_field(rng, size, size / 4)))
    out = w * layers[0] + (1.0 - w) * layers[1]
    return out / (out.std() + 1e-6)


def _render(rng: np.random.Generator, layout: _Layout, stain: StainPreset) -> np.ndarray:
    kind = layout.kind
    size = kind.shape[0]
    tissue = kind != _BG

    # Nuclear density: per-kind rate, IT ramping from LE-like to CT-like across its band,
    # modulated per tile and smoothly within it so that the classes' ranges overlap.
    density = _kind_table("density")[kind]
    it = kind == _IT
    le_d, ct_d = _KINDS[_LE].density, _KINDS[_CT].density
    density[it] = (1.3 * le_d + (0.8 * ct_d - 1.3 * le_d) * layout.it_depth[it]).astype(np.float32)
    density *= np.exp(0.15 * rng.standard_normal() + 0.25 * _smooth_field(rng, size, size / 6))
    debris = _kind_table("debris")[kind]
    rbc = _kind_table("rbc")[kind]

    # One uniform draw per pixel decides nucleus / debris / red cell / nothing.
    draw = rng.random((size, size), dtype=np.float32)
    is_nucleus = draw < density
    is_debris = (draw >= density) & (draw < density + debris)
    is_rbc = (draw >= density + debris) & (draw < density + debris + rbc)

    fibre_angle = rng.uniform(0, np.pi)
    angle_field = fibre_angle + 0.5 * _smooth_field(rng, size, size / 4)

    # Nuclei.
    ny, nx = np.nonzero(is_nucleus)
    nk = kind[ny, nx]
    n = ny.size
    spread = rng.standard_normal((2, n), dtype=np.float32)
    major = _kind_table("axis")[nk] * np.exp(_kind_table("axis_spread")[nk] * spread[0])
    elong = np.maximum(1.0, _kind_table("elongation")[nk] + _kind_table("elongation_spread")[nk] * spread[1])
    major = np.clip(major, 0.6, 4.0)
    minor = np.maximum(major / elong, 0.5)
    mode = np.asarray([k.orientation for k in _KINDS])[nk]
    angle = rng.uniform(0, np.pi, n).astype(np.float32)
    jitter = 0.3 * rng.standard_normal(n, dtype=np.float32)
    sel = mode == _FIBRE
    angle[sel] = angle_field[ny[sel], nx[sel]] + jitter[sel]
    if layout.radial is not None:
        sel = mode == _RADIAL
        angle[sel] = layout.radial[ny[sel], nx[sel]] + jitter[sel]
    if layout.vessel is not None:
        sel = mode == _VESSEL
        angle[sel] = layout.vessel[ny[sel], nx[sel]] + jitter[sel]
    dark = _kind_table("darkness")[nk] * np.exp(0.2 * rng.standard_normal(n, dtype=np.float32))
    cy = ny + rng.random(n, dtype=np.float32)
    cx = nx + rng.random(n, dtype=np.float32)
    hema = _stamp(size, cy, cx, major, minor, angle, dark)

    # Nuclear debris: tiny very dark fragments.
    dy, dx = np.nonzero(is_debris)
    m = dy.size
    if m:
        r = rng.uniform(0.35, 0.7, m).astype(np.float32)
        hema += _stamp(
            size,
            dy + rng.random(m, dtype=np.float32),
            dx + rng.random(m, dtype=np.float32),
            r,
            r,
            np.zeros(m, np.float32),
            rng.uniform(0.6, 1.4, m).astype(np.float32),
        )

    # Eosin: per-kind level and texture weights, blurred so that regions blend over a few
    # pixels as in tissue, times fibrillary and granular noise.
    fibres = _fibres(rng, size, fibre_angle)
    grain = cv2.GaussianBlur(rng.standard_normal((size, size), dtype=np.float32), (0, 0), 1.2)
    grain /= grain.std() + 1e-6
    maps = np.stack([_kind_table(f)[kind] for f in ("eosin", "fibre", "grain", "haze")], axis=-1)
    maps = cv2.GaussianBlur(maps, (0, 0), 2.0)
    level, fw, gw, haze = (maps[..., i] for i in range(4))
    eosin = level * np.clip(1.0 + 0.5 * fw * fibres + 0.5 * gw * grain, 0.2, None)
    eosin *= 1.0 + 0.12 * _smooth_field(rng, size, size / 3)

    # Red blood cells: small eosin-dense discs.
    ry, rx = np.nonzero(is_rbc)
    m = ry.size
    if m:
        r = rng.uniform(0.9, 1.4, m).astype(np.float32)
        eosin += _stamp(
            size,
            ry + rng.random(m, dtype=np.float32),
            rx + rng.random(m, dtype=np.float32),
            r,
            r * 0.85,
            rng.uniform(0, np.pi, m).astype(np.float32),
            np.full(m, 1.3, np.float32),
        )

    # Out-of-focus nuclei and cytoplasm give a hematoxylin haze that follows density.
    hema += haze + 0.15 * cv2.GaussianBlur(hema, (0, 0), 2.5)

    # Unstained glass outside the tissue; the tissue edge is soft over about a pixel.
    alpha = cv2.GaussianBlur(tissue.astype(np.float32), (0, 0), 0.8)
    jitter_h, jitter_e = np.exp(0.08 * rng.standard_normal(2))
    conc = np.stack([hema * alpha * jitter_h, eosin * alpha * jitter_e], axis=-1)
    od = conc.reshape(-1, 2) @ stain.matrix
    glass = 0.035 + 0.01 * _smooth_field(rng, size, size / 2)
    od = od.reshape(size, size, 3) + glass[..., None]
    image = 255.0 * np.exp(-od) + 1.5 * rng.standard_normal((size, size, 3), dtype=np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def generate(
    *,
    num_classes: int = 4,
    size: int = 256,
    seed: int = 0,
    index: int = 0,
    stain: str | StainPreset | np.ndarray = "lgg",
    class_shares: Mapping[str, float] | None = None,
) -> Sample:
    """One synthetic H&E tile with its exact mask.

    Args:
      num_classes: 4 (LGG_4: BG, CT, LE, IT) or 8 (IVYGAP_8, adds necrosis,
        pseudopalisades, microvascular proliferation and the perinecrotic zone).
      size: side of the square tile in pixels (>= 32). Nuclei keep their size in pixels
        (IvyGAP-like magnification); regions scale with the tile.
      seed: seed of the series; with ``index`` it fixes the tile.
      index: position of the tile in the series; tile ``i`` does not depend on how many
        tiles are generated.
      stain: a preset name (``'lgg'``, ``'gbm'``), a :class:`StainPreset`, or a ``(2, 3)``
        OD matrix (rows hematoxylin, eosin). The stain changes colours only: the layout
        and the mask are the same for every stain.
      class_shares: mean pixel share per class code over many tiles (sum 1); default
        :data:`DEFAULT_SHARES`. Single tiles vary around it.

    Returns:
      A :class:`Sample` named ``synth-NNNN`` (the index), group = name.
    """
    scheme = _scheme(num_classes)
    if not isinstance(size, (int, np.integer)) or size < 32:
        raise ValueError(f"size must be an integer >= 32 pixels, got {size!r}.")
    if not isinstance(seed, (int, np.integer)) or seed < 0 or index < 0:
        raise ValueError(f"seed and index must be integers >= 0, got seed={seed!r}, index={index!r}.")
    targets = _check_shares(num_classes, class_shares)
    preset = _resolve_stain(stain)
    shares = _tile_shares(targets, _share_point(int(seed), int(index)))
    # Layout and rendering draw from separate streams so the stain never moves the mask.
    layout = _layout(np.random.default_rng([int(seed), int(index), 1]), int(size), shares, num_classes == 8)
    image = _render(np.random.default_rng([int(seed), int(index), 2]), layout, preset)
    # The CT sub-region kinds only occur with 8 classes; in LGG_4 they would be CT.
    lut = np.asarray(
        [scheme.index(code if code in scheme.codes else "CT") for code in _KIND_CODE], dtype=np.uint8
    )
    name = f"synth-{int(index):04d}"
    return Sample(image=image, mask=lut[layout.kind], name=name, group=name)


class SyntheticSource(DataSource):
    """The embedded default data: ``count`` synthetic H&E tiles, generated in memory.

    Args:
      count: number of tiles.
      size: tile side in pixels.
      num_classes: 4 (scheme LGG_4) or 8 (scheme IVYGAP_8).
      seed: seed of the series; tile ``i`` depends on ``(seed, i)`` only.
      stain: ``'lgg'``, ``'gbm'``, a :class:`StainPreset` or a ``(2, 3)`` OD matrix.
      class_shares: mean pixel share per class code (default :data:`DEFAULT_SHARES`).
    """

    def __init__(
        self,
        *,
        count: int = 32,
        size: int = 256,
        num_classes: int = 4,
        seed: int = 0,
        stain: str | StainPreset | np.ndarray = "lgg",
        class_shares: Mapping[str, float] | None = None,
    ):
        if not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(f"count must be an integer >= 1, got {count!r}.")
        self.size = size
        self.num_classes = num_classes
        self.seed = seed
        self.stain = _resolve_stain(stain)
        samples = [
            generate(
                num_classes=num_classes,
                size=size,
                seed=seed,
                index=i,
                stain=self.stain,
                class_shares=class_shares,
            )
            for i in range(count)
        ]
        super().__init__(samples=samples, scheme=_scheme(num_classes))


def write_dataset(out: str | Path, *, source: DataSource) -> Path:
    """Write a source as a folder: ``images/NAME.png``, ``masks/NAME.png``, ``palette.tsv``.

    Masks are single-channel index PNGs (mode ``L``); ``palette.tsv`` declares the
    source's class scheme, so the folder reads back with the folder data source.

    Args:
      out: the folder to write (created; existing files of the same name are replaced).
      source: any data source, e.g. a :class:`SyntheticSource`.

    Returns:
      ``out`` as a :class:`~pathlib.Path`.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder; choose a folder for the data set.")
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    for sample in source:
        if not cv2.imwrite(str(out / "images" / f"{sample.name}.png"), sample.image[..., ::-1]):
            raise ValueError(f"Could not write {out / 'images' / (sample.name + '.png')}.")
        if not cv2.imwrite(str(out / "masks" / f"{sample.name}.png"), sample.mask):
            raise ValueError(f"Could not write {out / 'masks' / (sample.name + '.png')}.")
    write_palette(source.scheme, out / "palette.tsv")
    return out
