"""Where a short training run's time goes on TensorFlow: each phase's first step, with and without XLA.

A training run of lggseg compiles its train step once per phase (the trainable set changes),
so a 4-phase run of a few dozen steps per phase, as in the quick profile and the CPU benchmark
suites, spends more time building step functions than training. This script measures, each
variant in a fresh process, on the FC-DenseNet of the CPU budgets (``gin/benchmark_ivygap.gin``:
24 initial filters, growth 8, blocks of 3), for ``--phases`` phases with more layers trainable
in each, as the trainer does:

* the first step of each phase (tracing and compiling included) and the mean of its next
  ``--steps``;
* the whole run;

with ``compile(jit_compile=True)`` (XLA) and ``False``. Keras's own default on TensorFlow
(``'auto'``) is ``False`` on a machine without a GPU, which is what lggseg trains with there.

    python benchmarks/jit_compile.py --backend tensorflow --steps 16 --phases 4

Measured 2026-12-02 (2 idle cores, TensorFlow 2.21, Keras 3.15.1, 64-px tiles, batch 8): the
first step of the 4 phases took 22.8 / 40.1 / 60.5 / 79.2 s with XLA and 7.6 / 15.1 / 24.3 /
32.9 s without, growing with the trainable layers (the gradient graph is traced anew); later
steps 0.42-0.93 s with XLA, 0.14-0.73 s without. Whole run 245 s against 112 s: Keras's default
(no XLA on a CPU) is right, and of the 112 s, 80 s are the phases' first steps. That tracing,
on one core, is why the quick suite runs its jobs side by side (``benchmark_suite.parallel``).

On JAX, ``jit_compile=False`` runs the step eagerly, op by op, and is not a choice for training.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

CONFIG = dict(initial_filters=24, growth_rate=8, down_blocks=(3, 3, 3, 3), bottleneck_layers=4, up_blocks=(3, 3, 3, 3))


def worker(args) -> dict:
    import keras
    import numpy as np

    from lggseg.models import fc_densenet

    keras.utils.set_random_seed(0)
    model = fc_densenet(num_classes=4, **CONFIG)
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, args.size, args.size, 3), dtype=np.float32)
    y = rng.integers(0, 4, (args.batch, args.size, args.size)).astype("int32")
    weighted = [layer for layer in model.layers if layer.weights]
    phases = []
    start_run = time.perf_counter()
    for k in range(args.phases):
        # Like progressive unfreezing: the last 1, then more weighted layers trainable per phase.
        count = max(1, len(weighted) * k // max(1, args.phases - 1)) if k else 1
        for i, layer in enumerate(weighted):
            layer.trainable = i >= len(weighted) - count
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=keras.losses.SparseCategoricalCrossentropy(),
                      jit_compile=args.jit)
        start = time.perf_counter()
        model.train_on_batch(x, y)
        first = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(args.steps):
            model.train_on_batch(x, y)
        phases.append({"first_s": first, "step_s": (time.perf_counter() - start) / args.steps})
    return {"phases": phases, "run_s": time.perf_counter() - start_run, "keras": keras.__version__}


def launch(args, *, jit: bool) -> dict:
    env = dict(os.environ, KERAS_BACKEND=args.backend)
    command = [sys.executable, __file__, "--worker", "--steps", str(args.steps), "--phases", str(args.phases),
               "--size", str(args.size), "--batch", str(args.batch), "--backend", args.backend]
    if jit:
        command.append("--jit")
    out = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="tensorflow", choices=["tensorflow", "jax"])
    parser.add_argument("--steps", type=int, default=16, help="timed steps per phase after its first")
    parser.add_argument("--phases", type=int, default=4)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--jit", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return

    on, off = launch(args, jit=True), launch(args, jit=False)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"backend {args.backend}, Keras {on['keras']}")
    print(f"model: FC-DenseNet {CONFIG}, {args.size}-px tiles, batch {args.batch}, "
          f"{args.phases} phases of 1 + {args.steps} steps")
    print("phase  first step XLA on / off (s)   later steps XLA on / off (s)")
    for k, (a, b) in enumerate(zip(on["phases"], off["phases"]), start=1):
        print(f"{k:>5}  {a['first_s']:8.2f} / {b['first_s']:6.2f}            "
              f"{a['step_s']:6.3f} / {b['step_s']:6.3f}  ({b['step_s'] / a['step_s']:.2f}x)")
    print(f"whole run: XLA on {on['run_s']:.1f} s, off {off['run_s']:.1f} s "
          f"(off/on {off['run_s'] / on['run_s']:.2f}x)")


if __name__ == "__main__":
    main()
