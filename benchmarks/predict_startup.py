"""How long `lggseg predict` takes from a fresh process: start-up, first and second call, per megapixel.

A user predicts an image, then another, each a new `lggseg predict` process. What it costs
beyond the network's arithmetic is start-up (imports), tracing and compiling. JAX keeps its
compiled programs in a persistent cache (``$LGGSEG_CACHE/jax``, set by the CLI), so a second
process should skip the compile; TensorFlow retraces in every process.

In one run, per backend, with a fresh cache folder:

* ``lggseg --backend B info``: the start-up floor;
* ``predict`` of a 1024x1024 image, twice (the second finds the cache warm);
* ``predict`` of a 2048x2048 image (warm): with the second 1024 call, the time per megapixel.

The model is the IvyGAP transfer experiment's narrow FC-DenseNet (4 classes, 0.27 M parameters),
randomly initialised and saved as a run directory; the images are lggseg's synthetic H&E.

    python benchmarks/predict_startup.py
    python benchmarks/predict_startup.py --backends jax
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NARROW = dict(initial_filters=24, growth_rate=8, down_blocks=(3, 3, 3, 3), bottleneck_layers=4, up_blocks=(3, 3, 3, 3))


def make_run(run_dir: Path) -> None:
    """A run directory with the narrow FC-DenseNet (random weights) and the 4 LGG classes."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    from lggseg.classes import LGG_4, write_palette
    from lggseg.models import fc_densenet

    keras.utils.set_random_seed(0)
    run_dir.mkdir(parents=True, exist_ok=True)
    fc_densenet(num_classes=4, **NARROW).save(run_dir / "model.keras")
    write_palette(LGG_4, run_dir / "classes.tsv")


def make_image(path: Path, size: int) -> None:
    import numpy as np
    from PIL import Image

    from lggseg.data.synthetic import generate

    tiles = [generate(size=512, seed=7, index=i).image for i in range((size // 512) ** 2)]
    rows = [np.concatenate(tiles[r * (size // 512):(r + 1) * (size // 512)], axis=1) for r in range(size // 512)]
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow"], choices=["jax", "tensorflow"])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lggseg-predict-startup-"))
    run = work / "run"
    make_run(run)
    small, large = work / "image1024.png", work / "image2048.png"
    make_image(small, 1024)
    make_image(large, 2048)
    lggseg = [sys.executable, "-m", "lggseg_cli.main"]

    import keras

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"Keras {keras.__version__}")
    print("| backend | start-up (info) s | 1st predict 1024² s | 2nd predict 1024² s | 2048² s (warm) | s per Mpx |")
    print("|---|---:|---:|---:|---:|---:|")
    for backend in args.backends:
        env = dict(os.environ, LGGSEG_CACHE=str(work / f"cache-{backend}"))
        env.pop("JAX_COMPILATION_CACHE_DIR", None)  # the CLI's own default under LGGSEG_CACHE
        base = [*lggseg, "--backend", backend]
        startup = timed([*base, "info"], env)
        first = timed([*base, "predict", str(run), str(small), "--out", str(work / "out1")], env)
        second = timed([*base, "predict", str(run), str(small), "--out", str(work / "out2")], env)
        big = timed([*base, "predict", str(run), str(large), "--out", str(work / "out3")], env)
        per_mpx = (big - second) / ((2048**2 - 1024**2) / 1e6)
        print(f"| {backend} | {startup:.1f} | {first:.1f} | {second:.1f} | {big:.1f} | {per_mpx:.2f} |")


if __name__ == "__main__":
    main()
