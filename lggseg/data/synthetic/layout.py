"""The regions of one synthetic tile: tissue edge, CT core, IT band, LE; with 8 classes also
necrosis, pseudopalisades, the perinecrotic zone and microvascular proliferation.

Smooth random fields (blurred noise plus a ramp) are cut by quantiles, so each region gets
exactly its share of the tile's pixels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import cv2
import numpy as np

from lggseg.data.synthetic import kinds
from lggseg.data.synthetic.fields import lowest, ramp, smooth_field


@dataclasses.dataclass
class Layout:
    kind: np.ndarray  # (H, W) int8 tissue kind
    it_depth: np.ndarray  # (H, W) float32, 0 at the LE side of the IT band, 1 at the CT side
    radial: np.ndarray | None  # (H, W) angle away from necrosis
    vessel: np.ndarray | None  # (H, W) angle along vessels


def layout(rng: np.random.Generator, size: int, shares: Mapping[str, float], eight: bool) -> Layout:
    n = size * size
    counts = {c: int(round(v * n)) for c, v in shares.items()}
    kind = np.full((size, size), kinds.CT, dtype=np.int8)

    # Tissue edge: a ramp gives one main boundary; finer noise makes it ragged.
    tissue_field = (
        ramp(rng, size)
        + 0.6 * smooth_field(rng, size, size / 3)
        + 0.25 * smooth_field(rng, size, size / 12)
        + 0.08 * smooth_field(rng, size, size / 40)
    )
    everywhere = np.ones((size, size), dtype=bool)
    bg = lowest(tissue_field, everywhere, counts["BG"])
    kind[bg] = kinds.BG
    tissue = ~bg

    # Depth into the tumour: LE lowest, then the IT band, CT highest. The fine terms make
    # the IT band finger into LE and CT instead of following a contour line.
    depth = (
        ramp(rng, size)
        + 0.7 * smooth_field(rng, size, size / 3)
        + 0.3 * smooth_field(rng, size, size / 10)
        + 0.15 * smooth_field(rng, size, size / 30)
    )
    le = lowest(depth, tissue, counts["LE"])
    it = lowest(depth, tissue & ~le, counts["IT"])
    kind[le] = kinds.LE
    kind[it] = kinds.IT
    it_depth = np.zeros((size, size), dtype=np.float32)
    if it.any():
        lo, hi = depth[it].min(), depth[it].max()
        it_depth[it] = (depth[it] - lo) / max(hi - lo, 1e-6)

    radial = vessel = None
    if eight:
        core = kind == kinds.CT
        # Necrosis sits deep in the core.
        necro_field = -(
            smooth_field(rng, size, size / 5) + 0.3 * smooth_field(rng, size, size / 20) + 0.8 * depth
        )
        necro = lowest(necro_field, core, counts.get("CTne", 0))
        kind[necro] = kinds.NE
        core &= ~necro
        if necro.any():
            dist = cv2.distanceTransform((~necro).astype(np.uint8), cv2.DIST_L2, 5)
            gy, gx = np.gradient(dist)
            radial = np.arctan2(gy, gx).astype(np.float32)
            # A wavy band, not a perfect offset of the necrosis outline.
            band = dist + 2.0 * smooth_field(rng, size, size / 25)
            pan = lowest(band, core, counts.get("CTpan", 0))
            kind[pan] = kinds.PAN
            core &= ~pan
            pnz = lowest(band, core, counts.get("CTpnz", 0))
            kind[pnz] = kinds.PNZ
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
        tube = tuft + 0.15 * smooth_field(rng, size, size / 20)
        mvp = lowest(tube, core, counts.get("CTmvp", 0))
        kind[mvp] = kinds.MVP_WALL
        kind[lowest(tube, mvp, int(0.35 * mvp.sum()))] = kinds.MVP_LUMEN
        # Endothelial nuclei lie along the vessel wall: tangential orientation.
        vessel = (owner + np.pi / 2).astype(np.float32)
    return Layout(kind=kind, it_depth=it_depth, radial=radial, vessel=vessel)
