"""Macenko stain normalisation, vectorised over a batch of tiles in numpy.

Reference: M. Macenko et al., "A method for normalizing histology slides for quantitative
analysis", IEEE ISBI 2009, pp. 1107-1110.

Per tile: RGB -> optical density (a lookup table); tissue = OD >= ``beta`` in every
channel; the plane of the two largest eigenvectors of the tissue OD covariance (the 3x3
covariance, as in Macenko's own code and staintools, instead of an SVD of the N x 3 OD
matrix: same plane, one batched ``eigh`` for the whole batch); the angles of the tissue
pixels in that plane; the ``alpha`` and ``100 - alpha`` angular percentiles give the two
stain vectors (H first: the one with the larger red OD, Macenko's ordering rule);
non-negative concentrations of every pixel; each stain's 99th-percentile concentration
scaled to the reference's; back to RGB with the reference's stain vectors.

Images whose stain vectors cannot be estimated are returned unchanged and counted (see
:class:`~lggseg.stain.base.StainNormalizer`); under :mod:`lggseg.stain.source_stain`'s
policy that is decided once per image, for all of its regions. The reasons: fewer than ``min_tissue_pixels`` tissue
pixels (white or background-only tiles), stain vectors less than ``min_stain_angle``
degrees apart or with a negative OD entry (single-colour tissue, where the plane is
degenerate or fitted to noise), or a stain absent (its 99th-percentile concentration is
~0). They pass through rather than being normalised with the reference's vectors: a
tile without two stains has no H/E decomposition to map. On the 640 256x256 tiles of
the IvyGAP development images, estimated H and E are at least 9 degrees apart and every
entry is >= 0.08, so these rules leave real tissue alone. Pen marks are not detected:
ink is decomposed like a stain, without failure, and may tint such a tile.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import cv2
import numpy as np

from lggseg.data.image_checks import check_rgb
from lggseg.stain._optical_density import OD_LUT, tissue_threshold
from lggseg.stain._percentiles import angle_percentiles, top_percentile
from lggseg.stain.base import StainNormalizer
from lggseg.stain.source_stain import SourceStain

# Ruifrok & Johnston's H and E vectors: a harmless stand-in for tiles already marked as
# passing through, so that the vectorised maths never divides by zero for them.
_STANDIN = np.array([[0.650, 0.704, 0.286], [0.072, 0.990, 0.105]], np.float32)
_STANDIN /= np.linalg.norm(_STANDIN, axis=1, keepdims=True)
# The stains of an H&E decomposition, in the order of the stain matrix's rows.
STAINS = ("H", "E")
# Pixels per chunk of a batch: bounds the float32 intermediates to a few tens of MB.
_CHUNK_PIXELS = 1 << 19


@dataclasses.dataclass(frozen=True)
class StainEstimate:
    """Per-tile Macenko estimates for a batch.

    Attributes:
      stain_matrix: ``(B, 2, 3)`` unit OD vectors, H first then E.
      max_concentrations: ``(B, 2)`` 99th-percentile concentration of H and E.
      tissue_pixels: ``(B,)`` pixels with OD >= beta in every channel.
      reasons: per tile, ``None`` when usable, else why it cannot be normalised (its
        stain_matrix row is then a stand-in, not an estimate).
    """

    stain_matrix: np.ndarray
    max_concentrations: np.ndarray
    tissue_pixels: np.ndarray
    reasons: list[str | None]


class Macenko(StainNormalizer):
    """Macenko et al. (2009) stain normalisation, batched.

    Args:
      beta: OD threshold; pixels below it in any channel are background (0.15 in the paper).
      alpha: angular percentile in percent; the stain vectors are at the ``alpha`` and
        ``100 - alpha`` percentiles of the tissue pixels' angles (1 in the paper).
      regularizer: L1 weight of the non-negative concentrations, ``min_c 0.5 |od - c S|^2 +
        regularizer * sum(c)``, c >= 0 (0: non-negative least squares; 0.01 is
        staintools' choice, kept so that the two agree).
      min_tissue_pixels: fewer tissue pixels than this and an image passes through.
      min_stain_angle: stain vectors closer than this (degrees) and an image passes through.
      luminosity_threshold: ``None`` for the paper's OD >= beta tissue rule; a value such
        as 0.8 uses staintools' rule instead (LAB lightness / 255 below it), e.g. to
        reproduce staintools' estimates.
      stains: the stains the normalised image is rebuilt from: ``('H', 'E')`` (the paper), or
        ``('H',)`` for hematoxylin alone, in the reference's hematoxylin colour. Hematoxylin
        stains nuclei, so it carries cell density; eosin varies with fixation and staining
        between blocks of one tumour (see benchmarks/ivygap_separability.py), and an image
        without it cannot teach a network a block's eosin tone.
    """

    method = "macenko"

    def __init__(
        self,
        *,
        beta: float = 0.15,
        alpha: float = 1.0,
        regularizer: float = 0.01,
        min_tissue_pixels: int = 500,
        min_stain_angle: float = 5.0,
        luminosity_threshold: float | None = None,
        stains: tuple[str, ...] = STAINS,
    ) -> None:
        super().__init__()
        if not 0.0 < beta < 5.0:
            raise ValueError(f"macenko: beta={beta} must be in (0, 5) (an optical density; the paper uses 0.15).")
        if not 0.0 <= alpha < 50.0:
            raise ValueError(f"macenko: alpha={alpha} must be in [0, 50) percent (the paper uses 1).")
        if regularizer < 0.0:
            raise ValueError(f"macenko: regularizer={regularizer} must be >= 0.")
        if min_tissue_pixels < 2:
            raise ValueError(f"macenko: min_tissue_pixels={min_tissue_pixels} must be >= 2.")
        if not 0.0 <= min_stain_angle < 90.0:
            raise ValueError(f"macenko: min_stain_angle={min_stain_angle} must be in [0, 90) degrees.")
        if luminosity_threshold is not None and not 0.0 < luminosity_threshold <= 1.0:
            raise ValueError(
                f"macenko: luminosity_threshold={luminosity_threshold} must be None or in (0, 1] (staintools uses 0.8)."
            )
        stains = tuple(stains)
        if not stains or len(set(stains)) != len(stains) or any(st not in STAINS for st in stains):
            raise ValueError(
                f"macenko: stains={stains!r} must name each stain at most once, from {', '.join(STAINS)} "
                f"(e.g. ('H', 'E'), or ('H',) for hematoxylin alone)."
            )
        self.stains = tuple(st for st in STAINS if st in stains)
        self.beta = float(beta)
        self.alpha = float(alpha)
        self.regularizer = float(regularizer)
        self.min_tissue_pixels = int(min_tissue_pixels)
        self.min_stain_angle = float(min_stain_angle)
        self.luminosity_threshold = None if luminosity_threshold is None else float(luminosity_threshold)
        self.stain_matrix: np.ndarray | None = None
        self.max_concentrations: np.ndarray | None = None

    # -- fitting -------------------------------------------------------------------------

    def fit(self, reference: np.ndarray) -> "Macenko":
        """Estimate the reference's stain vectors and 99th-percentile concentrations.

        Raises:
          ValueError: when the reference has no usable tissue (the reason is named).
        """
        reference = check_rgb(reference, what="macenko reference")
        est = self.estimate(reference[None])
        if est.reasons[0] is not None:
            raise ValueError(f"macenko: the reference image cannot be used: {est.reasons[0]}.")
        self.stain_matrix = est.stain_matrix[0].astype(np.float64)
        self.max_concentrations = est.max_concentrations[0].astype(np.float64)
        return self

    @property
    def is_fitted(self) -> bool:
        return self.stain_matrix is not None

    # -- estimation ----------------------------------------------------------------------

    def estimate(self, images: np.ndarray) -> StainEstimate:
        """Stain vectors and concentration percentiles of each image of a ``(B, H, W, 3)`` batch."""
        images = check_rgb(images, what="macenko", batch=True)
        parts = [self._analyse(chunk)[0] for chunk in _chunks(images)]
        return StainEstimate(
            stain_matrix=np.concatenate([p.stain_matrix for p in parts]),
            max_concentrations=np.concatenate([p.max_concentrations for p in parts]),
            tissue_pixels=np.concatenate([p.tissue_pixels for p in parts]),
            reasons=[r for p in parts for r in p.reasons],
        )

    def _analyse(self, batch: np.ndarray) -> tuple[StainEstimate, np.ndarray]:
        """One chunk: the estimate and the ``(b, 2, N)`` concentrations of every pixel."""
        b = batch.shape[0]
        n_px = batch.shape[1] * batch.shape[2]
        planar = _planar(batch)
        od = cv2.LUT(planar.reshape(b * 3, n_px), OD_LUT).reshape(b, 3, n_px)
        mask = self._tissue(batch, planar)
        counts = np.count_nonzero(mask, axis=1)
        reasons: list[str | None] = [None] * b

        # Tissue OD of each tile (a gather per tile: tiles hold different numbers of tissue
        # pixels), its covariance, then one batched eigendecomposition.
        tissue = []
        cov = np.tile(np.eye(3), (b, 1, 1))
        for i in range(b):
            if counts[i] < self.min_tissue_pixels:
                reasons[i] = f"background: {counts[i]} tissue pixels < min_tissue_pixels={self.min_tissue_pixels}"
                tissue.append(None)
                continue
            t = np.take(od[i], np.flatnonzero(mask[i]), axis=1)  # (3, n)
            cov[i] = _covariance(t)
            tissue.append(t)
        _, vecs = np.linalg.eigh(cov)  # ascending eigenvalues
        plane = vecs[:, :, [2, 1]]  # (b, 3, 2): the two principal directions
        # Point both axes towards positive red OD, so angles are comparable between tiles.
        plane = plane * np.where(plane[:, 0:1, :] < 0, -1.0, 1.0)

        phi = np.zeros((b, 2))
        for i in range(b):
            if tissue[i] is not None:
                x, y = np.matmul(plane[i].T.astype(np.float32), tissue[i])
                phi[i] = angle_percentiles(x, y, self.alpha)

        v_min = np.einsum("bij,bj->bi", plane, np.stack([np.cos(phi[:, 0]), np.sin(phi[:, 0])], axis=1))
        v_max = np.einsum("bij,bj->bi", plane, np.stack([np.cos(phi[:, 1]), np.sin(phi[:, 1])], axis=1))
        h_first = (v_min[:, 0] > v_max[:, 0])[:, None]
        stains = np.stack([np.where(h_first, v_min, v_max), np.where(h_first, v_max, v_min)], axis=1)
        stains /= np.maximum(np.linalg.norm(stains, axis=2, keepdims=True), 1e-12)
        cos = np.clip(np.sum(stains[:, 0] * stains[:, 1], axis=1), -1.0, 1.0)
        gap = np.degrees(np.arccos(cos))
        for i in range(b):
            if reasons[i] is None and gap[i] < self.min_stain_angle:
                reasons[i] = (
                    f"degenerate: stain vectors {gap[i]:.2f} deg apart < min_stain_angle={self.min_stain_angle}"
                )
            elif reasons[i] is None and stains[i].min() < 0:
                # A stain absorbs light, so its OD vector is non-negative; a negative entry
                # means the plane came from noise (near single-colour tissue), not stains.
                reasons[i] = f"degenerate: stain vector with negative OD {stains[i].min():.3f}"
        bad = np.array([r is not None for r in reasons])
        stains = np.where(bad[:, None, None], _STANDIN, stains).astype(np.float32)

        conc = _concentrations(od, stains, self.regularizer)
        max_c = top_percentile(conc, 99.0)  # (b, 2), over all pixels as in the paper
        for i in range(b):
            if reasons[i] is None and max_c[i].min() <= 1e-6:
                which = "H" if max_c[i, 0] <= 1e-6 else "E"
                reasons[i] = f"degenerate: no {which} stain (99th-percentile concentration 0)"
        bad = np.array([r is not None for r in reasons])
        max_c = np.where(bad[:, None], 1.0, max_c)
        est = StainEstimate(stain_matrix=stains, max_concentrations=max_c, tissue_pixels=counts, reasons=reasons)
        return est, conc

    def _tissue(self, batch: np.ndarray, planar: np.ndarray) -> np.ndarray:
        """``(b, N)`` bool tissue mask: OD >= beta in every channel, or staintools' lightness rule."""
        if self.luminosity_threshold is None:
            t = tissue_threshold(self.beta)
            return (planar[:, 0] <= t) & (planar[:, 1] <= t) & (planar[:, 2] <= t)
        # staintools: LAB lightness (uint8 L = 255 L*/100) / 255 < threshold.
        return np.stack(
            [cv2.cvtColor(tile, cv2.COLOR_RGB2LAB)[..., 0].ravel() / 255.0 < self.luminosity_threshold for tile in batch]
        )

    # -- transform -----------------------------------------------------------------------

    def _estimate_source(self, sample: np.ndarray) -> SourceStain:
        est = self.estimate(sample[None])
        return SourceStain(
            method=self.method,
            parameters={"stain_matrix": est.stain_matrix[0], "max_concentrations": est.max_concentrations[0]},
            reason=est.reasons[0],
            pixels=sample.shape[0] * sample.shape[1],
        )

    def _apply_source(self, batch: np.ndarray, source: SourceStain) -> tuple[np.ndarray, list[str | None]]:
        stains = np.asarray(source.parameters["stain_matrix"], np.float32)
        max_c = np.asarray(source.parameters["max_concentrations"], np.float64)
        out = np.empty_like(batch)
        start = 0
        for chunk in _chunks(batch):
            b = chunk.shape[0]
            od = cv2.LUT(_planar(chunk).reshape(b * 3, -1), OD_LUT).reshape(b, 3, -1)
            conc = _concentrations(od, np.broadcast_to(stains, (b, 2, 3)), self.regularizer)
            rgb = self._reconstruct(conc, np.broadcast_to(max_c, (b, 2)), shape=chunk.shape)
            for i in range(b):
                out[start + i] = cv2.merge(list(rgb[i]))
            start += b
        return out, [None] * batch.shape[0]

    def _transform_batch(self, batch: np.ndarray) -> np.ndarray:
        # Each tile with its own estimate, batched: the same maths as estimate + apply.
        out = np.empty_like(batch)
        reasons: list[str | None] = []
        start = 0
        for chunk in _chunks(batch):
            est, conc = self._analyse(chunk)
            rgb = self._reconstruct(conc, est.max_concentrations, shape=chunk.shape)
            for i, reason in enumerate(est.reasons):
                out[start + i] = chunk[i] if reason is not None else cv2.merge(list(rgb[i]))
            reasons.extend(est.reasons)
            start += chunk.shape[0]
        self._record(reasons)
        return out

    def _reconstruct(self, conc: np.ndarray, max_c: np.ndarray, *, shape: tuple[int, ...]) -> np.ndarray:
        """``(b, 2, N)`` concentrations scaled from ``max_c`` ``(b, 2)`` to the reference -> ``(b, 3, H, W)`` uint8 planes."""
        b, h, w, _ = shape
        # Reference OD = reference stains x (concentrations scaled per stain): one (3, 2)
        # matrix per tile folds the scaling into the reconstruction.
        scale = (self.max_concentrations[None, :] / max_c).astype(np.float32)
        # A stain left out gets concentration 0 everywhere: its column of the matrix is zero.
        scale *= np.array([st in self.stains for st in STAINS], np.float32)
        recon = self.stain_matrix.T.astype(np.float32)[None] * scale[:, None, :]
        # 255 exp(-od) = exp(ln 255 - od): the sign and the offset ride on the matmul.
        log_rgb = np.matmul(-recon, conc)  # (b, 3, N)
        log_rgb += np.float32(np.log(255.0))
        # cv2: exp, then round-and-saturate to uint8 (clipped before the cast, never
        # wrapped), then planes -> interleaved; each one SIMD pass.
        return cv2.convertScaleAbs(cv2.exp(log_rgb.reshape(b * 3, -1))).reshape(b, 3, h, w)

    # -- serialisation -------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        return {
            "beta": self.beta,
            "alpha": self.alpha,
            "regularizer": self.regularizer,
            "min_tissue_pixels": self.min_tissue_pixels,
            "min_stain_angle": self.min_stain_angle,
            "luminosity_threshold": self.luminosity_threshold,
            "stains": list(self.stains),
            "stain_matrix": None if self.stain_matrix is None else self.stain_matrix.tolist(),
            "max_concentrations": None if self.max_concentrations is None else self.max_concentrations.tolist(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Macenko":
        config = dict(config)
        stain_matrix = config.pop("stain_matrix", None)
        max_c = config.pop("max_concentrations", None)
        norm = cls(**config)
        if stain_matrix is not None:
            norm.stain_matrix = _fitted_array(stain_matrix, (2, 3), "stain_matrix")
            norm.max_concentrations = _fitted_array(max_c, (2,), "max_concentrations")
        return norm


def _concentrations(od: np.ndarray, stains: np.ndarray, regularizer: float) -> np.ndarray:
    """Non-negative L1-regularised concentrations ``(b, 2, N)`` for two unit stain vectors.

    Solves ``min_c 0.5 |od - c S|^2 + lambda sum(c)`` with c >= 0 exactly (the problem
    staintools hands to spams.lasso): with two stains the optimum is the unconstrained
    solution ``a = G^-1 (S od - lambda)`` when it is non-negative, else the better
    one-stain solution. With ``g = s1 . s2 >= 0`` (H&E: always) that case analysis
    collapses to ``c1 = max(a1 + g min(a2, 0), 0)`` (and symmetrically), because
    ``a1 + g a2`` is the one-stain solution ``s1 . od - lambda``: no per-pixel branches.
    """
    b, _, n = od.shape
    g = np.sum(stains[:, 0] * stains[:, 1], axis=1).astype(np.float32)  # (b,)
    gram_inv = np.linalg.inv(np.matmul(stains, stains.transpose(0, 2, 1)).astype(np.float64))
    solve = np.matmul(gram_inv, stains.astype(np.float64)).astype(np.float32)
    offset = (gram_inv.sum(axis=2) * regularizer).astype(np.float32)[:, :, None]
    a = np.matmul(solve, od)
    a -= offset
    if np.all(g >= 0):
        # cv2 thresholds are SIMD min/max with 0 (numpy's minimum/maximum are ~4x slower).
        neg = cv2.threshold(a.reshape(b * 2, n), 0.0, 0.0, cv2.THRESH_TOZERO_INV)[1].reshape(b, 2, n)
        neg *= g[:, None, None]
        a += neg[:, ::-1]
        return cv2.threshold(a.reshape(b * 2, n), 0.0, 0.0, cv2.THRESH_TOZERO)[1].reshape(b, 2, n)
    # General case (stains over 90 deg apart): compare the two one-stain solutions by
    # their objective -r_i^2 / 2 with r_i = s_i . od - lambda.
    r = np.matmul(stains, od) - np.float32(regularizer)
    inside = (a[:, 0] >= 0) & (a[:, 1] >= 0)
    first = r[:, 0] >= r[:, 1]
    np.maximum(r, 0.0, out=r)
    c1 = np.where(inside, a[:, 0], np.where(first, r[:, 0], 0.0))
    c2 = np.where(inside, a[:, 1], np.where(first, 0.0, r[:, 1]))
    return np.stack([c1, c2], axis=1).astype(np.float32)


def _planar(batch: np.ndarray) -> np.ndarray:
    """``(b, H, W, 3)`` -> channel-planar ``(b, 3, H*W)`` uint8.

    Later steps are then contiguous vector ops or small matmuls instead of strided access
    to a trailing axis of 3; cv2.split is several times faster than a numpy transpose.
    """
    b, h, w, _ = batch.shape
    planar = np.empty((b, 3, h * w), np.uint8)
    for i in range(b):
        for c, plane in enumerate(cv2.split(batch[i])):
            planar[i, c] = plane.reshape(-1)
    return planar


def _covariance(t: np.ndarray) -> np.ndarray:
    """3x3 covariance of ``(3, n)`` float32 samples (float64 result).

    Centred first, then six dot products: a (3, n) @ (n, 3) matmul is several times slower
    in single-threaded BLAS, and centring keeps float32 accumulation accurate.
    """
    centred = t - t.mean(axis=1, dtype=np.float64, keepdims=True).astype(np.float32)
    cov = np.empty((3, 3))
    for i in range(3):
        for j in range(i, 3):
            cov[i, j] = cov[j, i] = float(np.dot(centred[i], centred[j]))
    return cov / (t.shape[1] - 1.0)


def _chunks(batch: np.ndarray):
    per = max(1, _CHUNK_PIXELS // max(1, batch.shape[1] * batch.shape[2]))
    for start in range(0, batch.shape[0], per):
        yield batch[start : start + per]


def _fitted_array(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != shape or not np.all(np.isfinite(arr)):
        raise ValueError(f"macenko: saved {name} must be finite with shape {shape}, got {value!r}.")
    return arr
