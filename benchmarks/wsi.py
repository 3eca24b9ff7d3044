"""Whole-slide prediction: peak memory and throughput against slide size.

Generates synthetic H&E pyramidal TIFFs (default 5,000^2 and 20,000^2 pixels, JPEG tiles,
levels as successive pages, 0.5 um/px), each written tile by tile from an iterator, then
runs :func:`lggseg.slides.predict_slide` on each, every slide in its own subprocess so
that the peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is that slide's alone.
Prints one table and the ratios measured in this run: the 20k slide has 16x the pixels
of the 5k one, and bounded memory means its peak RSS ratio stays near 1.

The model is a tiny fully convolutional network (seeded) unless ``--model`` names a run
directory or ``.keras`` file; the point is the slide machinery, not the model.

    python benchmarks/wsi.py                      # 5k and 20k, tiny model
    python benchmarks/wsi.py --sizes 2000 8000    # quicker
    python benchmarks/wsi.py --model runs/le_focus-... --level 1
    python benchmarks/wsi.py --sizes 2000 --normalizer macenko   # with the tiny model: the stain cost
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def _tiny_model(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = keras.layers.Conv2D(4, 1)(x)
    return keras.Model(inp, keras.layers.Softmax()(x), name="tiny_fcn")


def child_generate(args) -> None:
    from lggseg.slides import write_synthetic_slide

    start = time.perf_counter()
    write_synthetic_slide(args.slide, width=args.size, height=args.size, block=512, distinct=8, mpp=0.5,
                          compression="jpeg", pyramid="pages", seed=args.seed)
    result = {"seconds": time.perf_counter() - start, "peak_rss_mb": _peak_rss_mb(),
              "file_mb": Path(args.slide).stat().st_size / 2**20}
    Path(args.result).write_text(json.dumps(result))


def child_predict(args) -> None:
    import keras

    from lggseg.classes import LGG_4
    from lggseg.slides import predict_slide

    normalizer, scheme = None, LGG_4
    if args.model:
        from lggseg.evaluation import load_trained_model

        trained = load_trained_model(args.model)
        model, normalizer, scheme = trained.model, trained.normalizer, trained.scheme
    else:
        model = _tiny_model(args.seed)
    if args.normalizer == "macenko" and normalizer is None:
        from lggseg.data.synthetic import SyntheticSource
        from lggseg.stain import Macenko

        # The synthetic "GBM lab" stain, as the synthetic runs use: a real Macenko fit.
        normalizer = Macenko().fit(SyntheticSource(count=1, size=512, num_classes=4, seed=20091, stain="gbm")[0].image)
    # Warm the model up and load the slide libraries, so that the baseline holds the
    # runtime and what is not slide work (compilation, imports).
    model.predict_on_batch(keras.ops.zeros((args.batch, args.tile, args.tile, 3)))
    import cv2, imagecodecs, tifffile, tiffslide, zarr  # noqa: E401, F401
    baseline = _peak_rss_mb()
    res = predict_slide(model=model, slide_path=args.slide, out_dir=args.out, level=args.level,
                        tile_size=args.tile, batch_size=args.batch, normalizer=normalizer, scheme=scheme)
    result = {
        "baseline_rss_mb": baseline,
        "peak_rss_mb": _peak_rss_mb(),
        "seconds": res.seconds,
        "megapixels": res.shape[0] * res.shape[1] / 1e6,
        "mpx_per_s": res.megapixels_per_second,
        "tiles_predicted": res.tiles_predicted,
        "tiles_total": res.tiles_total,
        "blend_buffer_mb": res.blend_buffer_mb,
        "class_map_mb": Path(res.class_map).stat().st_size / 2**20,
        "pyramid_levels": len(res.pyramid_levels),
        "areas": res.areas,
        "backend": keras.backend.backend(),
    }
    Path(args.result).write_text(json.dumps(result))


def _run_child(mode: str, extra: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result = Path(f.name)
    cmd = [sys.executable, __file__, "--child", mode, "--result", str(result), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"benchmark child {mode} failed ({proc.returncode}): {' '.join(cmd)}")
    data = json.loads(result.read_text())
    result.unlink()
    return data


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for pkg in ("keras", "jax", "tensorflow", "tiffslide", "tifffile", "numpy"):
        try:
            parts.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            pass
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000], help="slide sides in pixels")
    parser.add_argument("--model", default=None, help="run directory or .keras file (default: tiny FCN)")
    parser.add_argument("--level", type=int, default=0)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--normalizer", choices=("none", "macenko"), default="none",
                        help="without --model: also stain-normalise (Macenko on a synthetic reference)")
    parser.add_argument("--workdir", default=None, help="keep slides and outputs here (default: a temp dir)")
    parser.add_argument("--child", choices=["generate", "predict"], help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--slide", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "generate":
        return child_generate(args)
    if args.child == "predict":
        return child_predict(args)

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="lggseg-wsi-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in args.sizes:
        slide = workdir / f"synthetic_{size}.tif"
        gen = _run_child("generate", ["--slide", str(slide), "--size", str(size), "--seed", str(args.seed)])
        common = ["--slide", str(slide), "--out", str(workdir / f"out_{size}"), "--level", str(args.level),
                  "--tile", str(args.tile), "--batch", str(args.batch), "--seed", str(args.seed),
                  "--normalizer", args.normalizer]
        if args.model:
            common += ["--model", args.model]
        pred = _run_child("predict", common)
        rows.append((size, gen, pred))
        print(f"done {size}x{size}: {pred['seconds']:.1f} s, peak RSS {pred['peak_rss_mb']:.0f} MB", file=sys.stderr)

    backend = rows[0][2]["backend"]
    norm_label = "the run's" if args.model else args.normalizer
    print(f"\nWhole-slide prediction, backend {backend}, level {args.level}, tile {args.tile}, batch {args.batch}, "
          f"model {args.model or 'tiny FCN (conv3x3 x 8 + conv1x1 x 4)'}, normaliser {norm_label}")
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"versions: {_versions()}\n")
    header = ("slide", "Mpx", "tiles (tissue/all)", "predict s", "Mpx/s", "peak RSS MB", "baseline MB",
              "above baseline MB", "blend buffer MB", "gen s", "gen peak RSS MB", "file MB")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for size, gen, pred in rows:
        above = pred["peak_rss_mb"] - pred["baseline_rss_mb"]
        print(
            f"| {size}x{size} | {pred['megapixels']:.0f} | {pred['tiles_predicted']}/{pred['tiles_total']} | "
            f"{pred['seconds']:.1f} | {pred['mpx_per_s']:.2f} | {pred['peak_rss_mb']:.0f} | "
            f"{pred['baseline_rss_mb']:.0f} | {above:.0f} | {pred['blend_buffer_mb']:.1f} | {gen['seconds']:.1f} | "
            f"{gen['peak_rss_mb']:.0f} | {gen['file_mb']:.0f} |"
        )
    if len(rows) >= 2:
        (s0, g0, p0), (s1, g1, p1) = rows[0], rows[-1]
        print(f"\nratios {s1}^2 / {s0}^2 (pixels x{(s1 / s0) ** 2:.0f}):")
        print(f"  peak RSS            {p1['peak_rss_mb'] / p0['peak_rss_mb']:.2f}")
        a0 = max(p0["peak_rss_mb"] - p0["baseline_rss_mb"], 1e-9)
        a1 = p1["peak_rss_mb"] - p1["baseline_rss_mb"]
        print(f"  RSS above baseline  {a1 / a0:.2f}  ({a1 - a0:+.0f} MB)")
        print(f"  generation peak RSS {g1['peak_rss_mb'] / g0['peak_rss_mb']:.2f}")
        print(f"  throughput (Mpx/s)  {p1['mpx_per_s'] / p0['mpx_per_s']:.2f}")
    print(f"\nslides and outputs in {workdir}")


if __name__ == "__main__":
    main()
