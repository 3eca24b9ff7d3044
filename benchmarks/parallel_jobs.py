"""Throughput of benchmark jobs run side by side: is one job on all cores faster than one job per core?

A benchmark job trains a small FC-DenseNet on small tiles (the IvyGAP CPU budget of
``gin/benchmark_ivygap.gin``: 64-px tiles, batch 8, 24 initial filters, growth 8, blocks of 3).
Its convolutions are too small to keep two threads busy, so this script measures, in one run:

* one process with the backend's default threads (what ``lggseg benchmark`` runs today);
* one process limited to one thread;
* ``--workers`` processes side by side, each limited to one thread.

It prints training steps per second for each and the ratio of the side-by-side total to the
single default process (> 1: running jobs side by side finishes a suite sooner).

    python benchmarks/parallel_jobs.py --backend tensorflow --steps 30

Measured 2026-12-01 (2 cores, TensorFlow, Keras 3.15.1, 20 steps): 1.71 steps/s for one default
process, 1.10 with one thread (0.64x), 2.20 in all for two one-thread processes (1.28x). The
IvyGAP cross-validation of ``benchmarks/RESULTS.md`` therefore ran as two streams of jobs with
these variables set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

from lggseg.benchmark.threads import thread_env

CONFIG = dict(initial_filters=24, growth_rate=8, down_blocks=(3, 3, 3, 3), bottleneck_layers=4, up_blocks=(3, 3, 3, 3))


def worker(args) -> dict:
    import keras
    import numpy as np

    from lggseg.models import fc_densenet

    keras.utils.set_random_seed(0)
    model = fc_densenet(num_classes=4, **CONFIG)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=keras.losses.SparseCategoricalCrossentropy())
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, args.size, args.size, 3), dtype=np.float32)
    y = rng.integers(0, 4, (args.batch, args.size, args.size)).astype("int32")
    for _ in range(3):  # compile and warm up
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(args.steps):
        model.train_on_batch(x, y)
    seconds = time.perf_counter() - start
    return {"steps_per_s": args.steps / seconds, "keras": keras.__version__}


def launch(args, *, single_thread: bool) -> subprocess.Popen:
    env = dict(os.environ, KERAS_BACKEND=args.backend)
    if single_thread:
        env.update(thread_env(1))
    command = [sys.executable, __file__, "--worker", "--steps", str(args.steps),
               "--size", str(args.size), "--batch", str(args.batch), "--backend", args.backend]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def collect(processes) -> list[dict]:
    results = []
    for process in processes:
        out, _ = process.communicate()
        if process.returncode:
            raise SystemExit(f"worker failed with exit code {process.returncode}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="tensorflow", choices=["tensorflow", "jax"])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return

    default = collect([launch(args, single_thread=False)])[0]
    single = collect([launch(args, single_thread=True)])[0]
    side_by_side = collect([launch(args, single_thread=True) for _ in range(args.workers)])
    total = sum(r["steps_per_s"] for r in side_by_side)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"backend {args.backend}, Keras {default['keras']}")
    print(f"model: FC-DenseNet {CONFIG}, {args.size}-px tiles, batch {args.batch}, {args.steps} timed steps")
    print(f"one process, default threads: {default['steps_per_s']:.3f} steps/s")
    print(f"one process, one thread:      {single['steps_per_s']:.3f} steps/s "
          f"({single['steps_per_s'] / default['steps_per_s']:.2f}x)")
    print(f"{args.workers} processes, one thread each: {total:.3f} steps/s in all "
          f"({total / default['steps_per_s']:.2f}x the default process)")


if __name__ == "__main__":
    main()
