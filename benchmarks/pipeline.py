"""Is the input pipeline the bottleneck? Pipeline tiles/s beside the model's training tiles/s.

Measured in one run, on the synthetic LGG data (``lggseg.data.synthetic``): the
TileDataset of the default configuration (256-pixel tiles, batch 8, Macenko to a
reference, the default augmentation), once with whole images normalised at construction
(the default) and once normalising every batch of tiles, and one ``train_on_batch`` step
of the model (default: the full FC-DenseNet of GBM_WSSM with 4 classes; ``--quick``: a
small convolutional net). Prints tiles/s and the ratio pipeline / model; a ratio above 1
means the pipeline keeps up with training on this machine.

    python benchmarks/pipeline.py --quick
    KERAS_BACKEND=tensorflow python benchmarks/pipeline.py --model-batch-size 2   # full model, ~2 min

The full model's training step at batch 8 needs more than 20 GB of memory on the CPU
with JAX (killed for memory on a 23 GB machine after a 3-minute XLA compile); on a small
machine time it at ``--model-batch-size 2`` (tiles/s are per tile, so the ratio stands).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("jax", "tensorflow"), default=os.environ.get("KERAS_BACKEND", "jax"))
    p.add_argument("--tile-size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--images", type=int, default=12, help="synthetic images in the source")
    p.add_argument("--image-size", type=int, default=512, help="side of the synthetic images (>= tile size)")
    p.add_argument("--batches", type=int, default=16, help="pipeline batches per timing round")
    p.add_argument("--min-seconds", type=float, default=3.0, help="time each pipeline row for at least this long")
    p.add_argument("--workers", type=int, default=2, help="threads for the parallel pipeline row")
    p.add_argument("--steps", type=int, default=None, help="timed model steps (default: 1 full, 5 quick)")
    p.add_argument("--model-batch-size", type=int, default=None,
                   help="batch of the model step (default: --batch-size); smaller fits a small machine's memory")
    p.add_argument("--quick", action="store_true", help="a small model instead of the full FC-DenseNet")
    p.add_argument("--normalizer", choices=("macenko", "none"), default="macenko")
    p.add_argument("--augmentation", choices=("default", "none"), default="default")
    return p.parse_args()


def _components(args):
    """The default configuration's normaliser and augmentation, or a clear error if missing."""
    normalizer = augmentation = None
    if args.normalizer == "macenko":
        try:
            from lggseg.stain import Macenko
            from lggseg.training.source_model import synthetic_reference
        except ImportError as err:
            sys.exit(f"benchmarks/pipeline.py: Macenko normalisation needs lggseg.stain ({err}); "
                     f"pass --normalizer none to time the pipeline without it.")
        normalizer = Macenko().fit(synthetic_reference())
    if args.augmentation == "default":
        try:
            from lggseg.augment import default_augmentation
        except ImportError as err:
            sys.exit(f"benchmarks/pipeline.py: the default augmentation needs "
                     f"lggseg.augment.default_augmentation ({err}); pass --augmentation none to "
                     f"time the pipeline without it.")
        augmentation = default_augmentation()
    return normalizer, augmentation


def _model(quick: bool, tile_size: int):
    import keras

    if quick:
        inputs = keras.Input((tile_size, tile_size, 3))
        x = inputs
        for filters in (16, 32, 32, 16):
            x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        outputs = keras.layers.Conv2D(4, 1, activation="softmax")(x)
        return keras.Model(inputs, outputs, name="quick_cnn")
    try:
        from lggseg.models import fc_densenet
    except ImportError as err:
        sys.exit(f"benchmarks/pipeline.py: the full model needs lggseg.models.fc_densenet ({err}); use --quick.")
    return fc_densenet(num_classes=4, input_shape=(tile_size, tile_size, 3))


def _rate(fn, n: int, *, min_seconds: float = 0.0) -> float:
    """Calls per second of ``fn(n)`` (n calls per round), repeated until ``min_seconds`` passed."""
    done, start = 0, time.perf_counter()
    while True:
        fn(n)
        done += n
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed


def main() -> None:
    args = _parse()
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from lggseg.data.synthetic import SyntheticSource
    from lggseg.losses import FocalLoss
    from lggseg.training.pipeline import TileDataset
    from lggseg.training.samplers import RareClassOversampler

    t0 = time.perf_counter()
    source = SyntheticSource(count=args.images, size=args.image_size, seed=0)
    t_source = time.perf_counter() - t0
    normalizer, augmentation = _components(args)
    common = dict(
        source=source, sampler=RareClassOversampler(rates={"LE": 3.0}), tile_size=args.tile_size,
        batch_size=args.batch_size, normalizer=normalizer, augmentation=augmentation, seed=0,
    )
    rows = []  # (configuration, tiles/s, setup seconds)

    def pipeline_row(label, ds, workers):
        # Threads as keras' enqueuer uses them: a pool that outlives the epoch.
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(ds.__getitem__, range(min(workers, len(ds)))))  # warm up
            fetch = lambda n: list(pool.map(lambda i: ds[i % len(ds)], range(n)))  # noqa: E731
            rows.append((label, _rate(fetch, args.batches, min_seconds=args.min_seconds) * args.batch_size))

    t0 = time.perf_counter()
    whole = TileDataset(**common, normalize_whole_images=True)
    t_whole = time.perf_counter() - t0
    pipeline_row("pipeline, whole images normalised once (1 thread)", whole, 1)
    pipeline_row(f"pipeline, whole images normalised once ({args.workers} threads)", whole, args.workers)
    if normalizer is not None:
        tiles = TileDataset(**common, normalize_whole_images=False)
        pipeline_row("pipeline, every batch of tiles normalised, per-image estimates (1 thread)", tiles, 1)

    model = _model(args.quick, args.tile_size)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=FocalLoss(gamma=2.0, alpha=0.25))
    x, y = whole[0]
    model_batch = args.model_batch_size or args.batch_size
    repeats = -(-model_batch // len(x))  # ceil: a model batch larger than the pipeline's repeats it
    x, y = np.concatenate([x] * repeats)[:model_batch], np.concatenate([y] * repeats)[:model_batch]
    t0 = time.perf_counter()
    model.train_on_batch(x, y)  # compiles
    t_compile = time.perf_counter() - t0
    steps = args.steps or (5 if args.quick else 1)
    model_rate = _rate(lambda n: [model.train_on_batch(x, y) for _ in range(n)], steps) * model_batch

    print("## Input pipeline vs. model training throughput\n")
    print(f"- backend: {keras.backend.backend()}; keras {keras.__version__}; numpy {np.__version__}; "
          f"python {platform.python_version()}")
    print(f"- machine: {platform.platform()}; {platform.processor() or platform.machine()}; "
          f"{os.cpu_count()} CPUs")
    print(f"- data: {args.images} synthetic {args.image_size}px images (built in {t_source:.1f} s); "
          f"tiles {args.tile_size}px, batch {args.batch_size}; sampler rare_class_oversampling(LE 3x); "
          f"normaliser {args.normalizer} (whole-image normalisation at construction: {t_whole:.1f} s); "
          f"augmentation {args.augmentation}")
    print(f"- model: {model.name} ({model.count_params():,} parameters), batch {model_batch}, focal loss, Adam; "
          f"first step (compile) {t_compile:.1f} s, then {steps} timed step(s)\n")
    print(f"| {'what':<58} | {'tiles/s':>9} | {'pipeline / model':>16} |")
    print(f"|{'-' * 60}|{'-' * 11}|{'-' * 18}|")
    for label, rate in rows:
        print(f"| {label:<58} | {rate:9.1f} | {rate / model_rate:16.1f} |")
    print(f"| {'model train_on_batch (' + model.name + ')':<58} | {model_rate:9.2f} | {'1.0':>16} |")


if __name__ == "__main__":
    main()
