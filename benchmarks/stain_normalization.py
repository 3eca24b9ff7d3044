"""Stain-normalisation speed: lggseg's Macenko (per tile and batched) vs staintools.

Real 256x256 tiles of the W30 IvyGAP images (../shared/data/ivygap, beside the checkout,
or $LGGSEG_SHARED) normalised to a W3 reference, all methods in the same run on one
thread each: OMP / OpenBLAS / MKL thread counts are set to 1 through environment
variables before numpy is imported (threadpoolctl is used too when installed) and
OpenCV gets ``cv2.setNumThreads(1)``. Each timing is the best of a few repeats.
Vahadane takes about 1 s per tile, so it runs on a few tiles only.

Usage: python benchmarks/stain_normalization.py [--tiles 96] [--staintools-tiles 16] [--vahadane-tiles 3]

The last line is ``macenko speed-up vs staintools: <ratio>x`` (staintools' Macenko time per
tile over lggseg's batched Macenko time per tile).
"""

from __future__ import annotations

import os

# Before numpy (and anything importing it): one thread for BLAS and OpenMP (spams).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import importlib.metadata  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

SHARED = Path(os.environ.get("LGGSEG_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
IMAGES = SHARED / "data" / "ivygap" / "images"
REFERENCE = "W3-1-1-A.1.01.jpg"


def _single_thread() -> str:
    cv2.setNumThreads(1)
    how = "env OMP/OPENBLAS/MKL_NUM_THREADS=1 before numpy import, cv2.setNumThreads(1)"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return how + " (threadpoolctl not installed)"
    threadpool_limits(1)
    return how + ", threadpoolctl limits=1"


def _read(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _tiles(count: int) -> np.ndarray:
    """``count`` 256x256 tiles on a grid over the W30 images, taken round-robin."""
    per_image = [
        [im[y : y + 256, x : x + 256] for y in range(0, im.shape[0] - 255, 256) for x in range(0, im.shape[1] - 255, 256)]
        for im in (_read(p) for p in sorted(IMAGES.glob("W30-*.jpg")))
    ]
    tiles = [grid[i] for i in range(max(map(len, per_image))) for grid in per_image if i < len(grid)]
    return np.ascontiguousarray(np.stack(tiles[:count]))


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=96, help="tiles for lggseg's Macenko")
    parser.add_argument("--staintools-tiles", type=int, default=16, help="tiles for staintools' Macenko")
    parser.add_argument("--vahadane-tiles", type=int, default=3, help="tiles for staintools' Vahadane (~1 s each)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per timing")
    args = parser.parse_args()
    if not IMAGES.is_dir():
        print(f"skipped: real tiles not found at {IMAGES} (../shared beside the checkout, or set LGGSEG_SHARED)")
        return 0
    threads = _single_thread()
    import staintools

    from lggseg.stain import Macenko

    reference = _read(IMAGES / REFERENCE)
    tiles = _tiles(args.tiles)
    ours = Macenko().fit(reference)
    st_macenko = staintools.StainNormalizer(method="macenko")
    st_macenko.fit(reference.copy())
    st_vahadane = staintools.StainNormalizer(method="vahadane")
    st_vahadane.fit(reference.copy())

    n_st, n_va = min(args.staintools_tiles, len(tiles)), min(args.vahadane_tiles, len(tiles))
    ours.transform(tiles[:2])  # warm-up: first-call allocations
    rows = [
        ("lggseg macenko, batched", len(tiles), _best(lambda: ours.transform(tiles), args.repeats)),
        ("lggseg macenko, per tile", len(tiles), _best(lambda: [ours.transform(t) for t in tiles], args.repeats)),
        # staintools overwrites 0-valued pixels in place: give it copies (copying is ~0.02 ms).
        ("staintools macenko", n_st, _best(lambda: [st_macenko.transform(t.copy()) for t in tiles[:n_st]], min(2, args.repeats))),
        ("staintools vahadane", n_va, _best(lambda: [st_vahadane.transform(t.copy()) for t in tiles[:n_va]], 1)),
    ]
    per_tile = {name: seconds / count for name, count, seconds in rows}
    base = per_tile["staintools macenko"]

    print("stain normalisation of 256x256 W30 tiles to a W3 reference, one thread")
    print(f"  reference  {REFERENCE}; tiles from {IMAGES}")
    print(f"  threads    {threads}")
    print(f"  machine    {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    versions = ", ".join(f"{p} {_version(p)}" for p in ("numpy", "opencv-python", "staintools", "spams-bin"))
    print(f"  versions   {versions}")
    print("  backend    numpy + OpenCV in the input pipeline (no Keras backend involved)")
    print(f"  passed through (lggseg): {ours.passthrough_count} of {ours.passthrough_count + ours.transformed_count} tile calls")
    print()
    print(f"  {'method':<28}{'tiles':>6}{'ms/tile':>10}{'tiles/s':>10}{'vs staintools macenko':>24}")
    for name, count, seconds in rows:
        ms = 1e3 * per_tile[name]
        print(f"  {name:<28}{count:>6}{ms:>10.2f}{1.0 / per_tile[name]:>10.1f}{base / per_tile[name]:>23.1f}x")
    print()
    print(f"macenko speed-up vs staintools: {base / per_tile['lggseg macenko, batched']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
