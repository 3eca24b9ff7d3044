"""Sliding-window inference and metric accumulation: cost ratios measured in one run.

Prints, for one image size and tile size, the time of whole-image inference (one model
call on the whole image, the reference) against tiled inference at several overlaps,
the two blends and TTA, as ratios; and the throughput of ConfusionAccumulator.update.
Records backend, versions and machine. Usage:

    KERAS_BACKEND=jax python benchmarks/sliding_window.py --size 512 --tile 128
    KERAS_BACKEND=jax python benchmarks/sliding_window.py --model fc_densenet --size 1024 --tile 256
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import time

import numpy as np


def _model(name: str, classes: int):
    import keras

    if name == "fc_densenet":
        from lggseg.models import fc_densenet

        return fc_densenet(num_classes=classes)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 3))
    x = inputs
    for filters in (16, 16, 16):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return keras.Model(inputs, keras.layers.Conv2D(classes, 1, activation="softmax")(x))


def _best_of(fn, repeats: int) -> float:
    fn()  # compile / warm up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("tiny", "fc_densenet"), default="tiny")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import keras

    from lggseg.evaluation import ConfusionAccumulator, SlidingWindowPredictor

    model = _model(args.model, 4)
    image = np.random.default_rng(0).integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
    x = image[None].astype(np.float32) / 255.0
    whole = _best_of(lambda: model.predict_on_batch(x), args.repeats)

    rows = []
    for overlap, blend, tta in [(0.0, "gaussian", False), (0.25, "gaussian", False), (0.5, "gaussian", False),
                                (0.25, "mean", False), (0.25, "gaussian", True)]:
        p = SlidingWindowPredictor(model=model, tile_size=args.tile, overlap=overlap, blend=blend, tta=tta,
                                   batch_size=args.batch_size)
        t = _best_of(lambda p=p: p.predict(image), args.repeats)
        rows.append((f"overlap {overlap:.2f}, {blend}{', TTA x8' if tta else ''}", len(p.tile_origins(args.size, args.size)), t))

    print(f"backend {keras.backend.backend()}, keras {keras.__version__}, numpy {np.__version__}, "
          f"lggseg {importlib.metadata.version('lggseg')}")
    print(f"machine {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"model {args.model} ({model.count_params():,} parameters), image {args.size}^2, tile {args.tile}, "
          f"batch {args.batch_size}, best of {args.repeats}")
    print()
    print(f"{'inference':<34} {'tiles':>6} {'seconds':>9} {'x whole image':>14}")
    print(f"{'whole image, one call':<34} {1:>6} {whole:>9.3f} {1.0:>14.2f}")
    for label, tiles, t in rows:
        print(f"{label:<34} {tiles:>6} {t:>9.3f} {t / whole:>14.2f}")

    print()
    print(f"{'ConfusionAccumulator.update':<34} {'classes':>7} {'Mpx/s':>9}")
    rng = np.random.default_rng(0)
    for classes in (4, 8):
        y = rng.integers(0, classes, (1024, 1024))
        probs = rng.dirichlet(np.ones(classes), (1024, 1024)).astype(np.float32)
        acc = ConfusionAccumulator(num_classes=classes)
        t = _best_of(lambda: acc.update(y_true=y, probs=probs), args.repeats)
        print(f"{'1024 x 1024 image':<34} {classes:>7} {y.size / t / 1e6:>9.1f}")


if __name__ == "__main__":
    main()
