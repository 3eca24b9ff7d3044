"""Painting a synthetic tile from its layout: nuclei, debris, red cells, eosin texture, then
the Beer-Lambert image ``I = 255 * exp(-(C @ S))`` of the stain concentrations ``C``.
"""

from __future__ import annotations

import cv2
import numpy as np

from lggseg.data.synthetic import kinds
from lggseg.data.synthetic.fields import smooth_field
from lggseg.data.synthetic.layout import Layout
from lggseg.data.synthetic.stain import StainPreset


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
    w = 1.0 / (1.0 + np.exp(-2.0 * smooth_field(rng, size, size / 4)))
    out = w * layers[0] + (1.0 - w) * layers[1]
    return out / (out.std() + 1e-6)


def render(rng: np.random.Generator, layout: Layout, stain: StainPreset) -> np.ndarray:
    """The ``(H, W, 3)`` uint8 image of ``layout`` in ``stain``.

    Every step draws from ``rng`` in a fixed order, so a tile is a function of its seed.
    """
    size = layout.kind.shape[0]
    is_nucleus, is_debris, is_rbc = _scatter(rng, layout)
    fibre_angle = rng.uniform(0, np.pi)
    angle_field = fibre_angle + 0.5 * smooth_field(rng, size, size / 4)
    hema = _nuclei(rng, layout, is_nucleus, angle_field)
    hema += _debris(rng, is_debris)
    eosin, haze = _eosin(rng, layout.kind, fibre_angle)
    eosin += _red_cells(rng, is_rbc)
    # Out-of-focus nuclei and cytoplasm give a hematoxylin haze that follows density.
    hema += haze + 0.15 * cv2.GaussianBlur(hema, (0, 0), 2.5)
    return _beer_lambert(rng, hema=hema, eosin=eosin, tissue=layout.kind != kinds.BG, stain=stain)


def _scatter(rng: np.random.Generator, layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where nuclei, debris and red cells sit: three disjoint ``(H, W)`` bool maps."""
    kind = layout.kind
    size = kind.shape[0]
    # Nuclear density: per-kind rate, IT ramping from LE-like to CT-like across its band,
    # modulated per tile and smoothly within it so that the classes' ranges overlap.
    density = kinds.table("density")[kind]
    it = kind == kinds.IT
    le_d, ct_d = kinds.KINDS[kinds.LE].density, kinds.KINDS[kinds.CT].density
    density[it] = (1.3 * le_d + (0.8 * ct_d - 1.3 * le_d) * layout.it_depth[it]).astype(np.float32)
    density *= np.exp(0.15 * rng.standard_normal() + 0.25 * smooth_field(rng, size, size / 6))
    debris = kinds.table("debris")[kind]
    rbc = kinds.table("rbc")[kind]

    # One uniform draw per pixel decides nucleus / debris / red cell / nothing.
    draw = rng.random((size, size), dtype=np.float32)
    is_nucleus = draw < density
    is_debris = (draw >= density) & (draw < density + debris)
    is_rbc = (draw >= density + debris) & (draw < density + debris + rbc)
    return is_nucleus, is_debris, is_rbc


def _nuclei(rng: np.random.Generator, layout: Layout, is_nucleus: np.ndarray, angle_field: np.ndarray) -> np.ndarray:
    """Hematoxylin of the nuclei: one ellipse per nucleus pixel, shaped and oriented by its kind."""
    kind = layout.kind
    size = kind.shape[0]
    ny, nx = np.nonzero(is_nucleus)
    nk = kind[ny, nx]
    n = ny.size
    spread = rng.standard_normal((2, n), dtype=np.float32)
    major = kinds.table("axis")[nk] * np.exp(kinds.table("axis_spread")[nk] * spread[0])
    elong = np.maximum(1.0, kinds.table("elongation")[nk] + kinds.table("elongation_spread")[nk] * spread[1])
    major = np.clip(major, 0.6, 4.0)
    minor = np.maximum(major / elong, 0.5)
    mode = np.asarray([k.orientation for k in kinds.KINDS])[nk]
    angle = rng.uniform(0, np.pi, n).astype(np.float32)
    jitter = 0.3 * rng.standard_normal(n, dtype=np.float32)
    sel = mode == kinds.FIBRE
    angle[sel] = angle_field[ny[sel], nx[sel]] + jitter[sel]
    if layout.radial is not None:
        sel = mode == kinds.RADIAL
        angle[sel] = layout.radial[ny[sel], nx[sel]] + jitter[sel]
    if layout.vessel is not None:
        sel = mode == kinds.VESSEL
        angle[sel] = layout.vessel[ny[sel], nx[sel]] + jitter[sel]
    dark = kinds.table("darkness")[nk] * np.exp(0.2 * rng.standard_normal(n, dtype=np.float32))
    cy = ny + rng.random(n, dtype=np.float32)
    cx = nx + rng.random(n, dtype=np.float32)
    return _stamp(size, cy, cx, major, minor, angle, dark)


def _debris(rng: np.random.Generator, is_debris: np.ndarray) -> np.ndarray | float:
    """Nuclear debris: tiny very dark fragments (0 when there are none)."""
    size = is_debris.shape[0]
    dy, dx = np.nonzero(is_debris)
    m = dy.size
    if not m:
        return 0.0
    r = rng.uniform(0.35, 0.7, m).astype(np.float32)
    return _stamp(
        size,
        dy + rng.random(m, dtype=np.float32),
        dx + rng.random(m, dtype=np.float32),
        r,
        r,
        np.zeros(m, np.float32),
        rng.uniform(0.6, 1.4, m).astype(np.float32),
    )


def _eosin(rng: np.random.Generator, kind: np.ndarray, fibre_angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Eosin concentration and the hematoxylin haze, from per-kind levels and textures."""
    size = kind.shape[0]
    # Per-kind level and texture weights, blurred so that regions blend over a few pixels
    # as in tissue, times fibrillary and granular noise.
    fibres = _fibres(rng, size, fibre_angle)
    grain = cv2.GaussianBlur(rng.standard_normal((size, size), dtype=np.float32), (0, 0), 1.2)
    grain /= grain.std() + 1e-6
    maps = np.stack([kinds.table(f)[kind] for f in ("eosin", "fibre", "grain", "haze")], axis=-1)
    maps = cv2.GaussianBlur(maps, (0, 0), 2.0)
    level, fw, gw, haze = (maps[..., i] for i in range(4))
    eosin = level * np.clip(1.0 + 0.5 * fw * fibres + 0.5 * gw * grain, 0.2, None)
    eosin *= 1.0 + 0.12 * smooth_field(rng, size, size / 3)
    return eosin, haze


def _red_cells(rng: np.random.Generator, is_rbc: np.ndarray) -> np.ndarray | float:
    """Red blood cells: small eosin-dense discs (0 when there are none)."""
    size = is_rbc.shape[0]
    ry, rx = np.nonzero(is_rbc)
    m = ry.size
    if not m:
        return 0.0
    r = rng.uniform(0.9, 1.4, m).astype(np.float32)
    return _stamp(
        size,
        ry + rng.random(m, dtype=np.float32),
        rx + rng.random(m, dtype=np.float32),
        r,
        r * 0.85,
        rng.uniform(0, np.pi, m).astype(np.float32),
        np.full(m, 1.3, np.float32),
    )


def _beer_lambert(
    rng: np.random.Generator, *, hema: np.ndarray, eosin: np.ndarray, tissue: np.ndarray, stain: StainPreset
) -> np.ndarray:
    """Stain concentrations -> uint8 RGB through the stain matrix, on slightly tinted glass."""
    size = tissue.shape[0]
    # Unstained glass outside the tissue; the tissue edge is soft over about a pixel.
    alpha = cv2.GaussianBlur(tissue.astype(np.float32), (0, 0), 0.8)
    jitter_h, jitter_e = np.exp(0.08 * rng.standard_normal(2))
    conc = np.stack([hema * alpha * jitter_h, eosin * alpha * jitter_e], axis=-1)
    od = conc.reshape(-1, 2) @ stain.matrix
    glass = 0.035 + 0.01 * smooth_field(rng, size, size / 2)
    od = od.reshape(size, size, 3) + glass[..., None]
    image = 255.0 * np.exp(-od) + 1.5 * rng.standard_normal((size, size, 3), dtype=np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
