"""What one training tile of the quick profile's FC-DenseNet costs, and whether bigger batches are cheaper.

Issue 15 asks the README's main command (``gin/le_focus.gin`` + ``gin/quick.gin``) to learn LE
and IT within 5 minutes on 2 CPU cores, source pretraining included. How many tiles those
minutes can buy is set by this number. The script builds the network that ``gin/quick.gin``
binds (8 classes, as the source stage trains it), and on each backend, in a fresh process,
times ``train_on_batch`` at several batch sizes: the first step (tracing and compiling) and
the mean of the next ``--steps``. It prints seconds per tile and the per-tile ratio of each
batch size to the smallest one; a ratio well below 1 would mean larger batches buy tiles.

    python benchmarks/quick_step_cost.py --backends tensorflow,jax

Measured 2026-12-02 (2 cores, with a one-thread training run beside it, so pessimistic; keras
3.15.1, jax 0.10.2, tensorflow 2.21.0), 64-px tiles, 73,944 parameters:

| backend | batch 2: first / step s | batch 8 | batch 32 | s per tile at 8 | per-tile ratio 32 : 2 |
|---|---|---|---|---:|---:|
| tensorflow | 18.9 / 0.154 | 20.5 / 0.531 | 23.8 / 1.773 | 0.066 | 0.72 |
| jax | 33.4 / 0.200 | 35.8 / 0.448 | 46.7 / 2.226 | 0.056 | 0.70 |

Batches past 8 buy little (0.7x per tile at 32). What limits the quick run is the first step:
every phase compiles its own step (the trainable set changes), 19-24 s on TensorFlow and
33-47 s on JAX here, and the main command has five of them (the source stage and four phases),
so on JAX the five compiles alone take about 3 of the 5 minutes; what is left buys a few
thousand tiles.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker(args) -> dict:
    import gin
    import keras
    import numpy as np

    from lggseg import config
    from lggseg.models import fc_densenet

    # The bindings of the quick profile itself, so the measurement follows the file.
    config.parse(files=[ROOT / "gin" / "quick.gin"], params=[])
    keras.utils.set_random_seed(0)
    model = gin.get_configurable(fc_densenet)(num_classes=8)
    rng = np.random.default_rng(0)
    rows = []
    for batch in args.batches:
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.SparseCategoricalCrossentropy())
        x = rng.random((batch, args.tile, args.tile, 3), dtype=np.float32)
        y = rng.integers(0, 8, (batch, args.tile, args.tile)).astype("int32")
        start = time.perf_counter()
        model.train_on_batch(x, y)
        first = time.perf_counter() - start
        model.train_on_batch(x, y)  # a second shape-stable warm-up step
        start = time.perf_counter()
        for _ in range(args.steps):
            model.train_on_batch(x, y)
        step = (time.perf_counter() - start) / args.steps
        rows.append({"batch": batch, "first_s": first, "step_s": step, "tile_s": step / batch})
    return {"rows": rows, "parameters": model.count_params(), "keras": keras.__version__}


def launch(args, backend: str) -> dict:
    command = [sys.executable, __file__, "--worker", "--tile", str(args.tile), "--steps", str(args.steps),
               "--batches", ",".join(map(str, args.batches))]
    out = subprocess.run(command, env=dict(os.environ, KERAS_BACKEND=backend), stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="tensorflow,jax")
    p.add_argument("--tile", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batches", type=lambda s: [int(b) for b in s.split(",")], default=[2, 8, 32])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    import jax
    import keras
    import tensorflow as tf

    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs; keras {keras.__version__}, "
          f"jax {jax.__version__}, tensorflow {tf.__version__}; {args.tile}-px tiles, {args.steps} timed steps")
    for backend in args.backends.split(","):
        result = launch(args, backend)
        smallest = result["rows"][0]["tile_s"]
        print(f"\n{backend} (quick FC-DenseNet, {result['parameters']:,} parameters, 8 classes)")
        print("batch  first step s  step s  s per tile  per-tile ratio to batch "
              f"{result['rows'][0]['batch']}")
        for row in result["rows"]:
            print(f"{row['batch']:>5}  {row['first_s']:>12.2f}  {row['step_s']:>6.3f}  {row['tile_s']:>10.4f}  "
                  f"{row['tile_s'] / smallest:>6.2f}")


if __name__ == "__main__":
    main()
