"""Per-tile class shares: a low-discrepancy (Sobol) sequence around the target shares.

The mean over a few dozen tiles stays close to the target while single tiles vary widely
(some without LE or IT); tile ``i`` depends on ``(seed, i)`` only.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lggseg.classes import ClassScheme, scheme_for_num_classes

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


def share_point(seed: int, index: int) -> np.ndarray:
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


def tile_shares(targets: Mapping[str, float], u: np.ndarray) -> dict[str, float]:
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


def check_shares(num_classes: int, class_shares: Mapping[str, float] | None) -> dict[str, float]:
    classes = scheme_of(num_classes)
    if class_shares is None:
        return dict(DEFAULT_SHARES[num_classes])
    given = dict(class_shares)
    unknown = [c for c in given if c not in classes.codes]
    missing = [c for c in classes.codes if c not in given]
    if unknown or missing:
        raise ValueError(
            f"class_shares must give one share per class of the {num_classes}-class scheme "
            f"({', '.join(classes.codes)}); unknown: {unknown}, missing: {missing}."
        )
    values = np.asarray(list(given.values()), dtype=np.float64)
    if np.any(values < 0) or abs(values.sum() - 1.0) > 1e-3:
        raise ValueError(f"class_shares must be >= 0 and sum to 1, got {given} (sum {values.sum():.4f}).")
    return given




def scheme_of(num_classes: int) -> ClassScheme:
    """The scheme of a ``num_classes`` series: LGG_4 or IVYGAP_8."""
    try:
        return scheme_for_num_classes(num_classes)
    except ValueError:
        raise ValueError(f"num_classes must be 4 (LGG: BG, CT, LE, IT) or 8 (IvyGAP), got {num_classes}.") from None
