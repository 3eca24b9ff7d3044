"""Speed of the GBM_WSSM FC-DenseNet on JAX and TensorFlow: training step, prediction, fit overhead.

Each backend runs in its own process (Keras fixes the backend per process). Per backend:

* build time, and the first training step (``train_on_batch``, includes the compile);
* steady training steps (``train_on_batch`` loop) and predictions, in images/s;
* the same steps through plain ``model.fit`` on in-memory arrays (the second of two
  epochs: ``fit`` compiles its own train function in the first), as a ratio to the ``train_on_batch``
  loop, and on a ``keras.utils.PyDataset`` yielding the same arrays (what an input
  pipeline adds), as a ratio to ``fit`` on arrays. Ratios > 1 are faster. lggseg's own
  trainer goes in this table once it exists.

The model is the full GBM_WSSM (9.4 M parameters, 256x256, batch 8) unless ``--quick``
(a tiny FC-DenseNet at 64x64, batch 2, to check the script). A full-size step takes
about 80 s on 2 CPU cores (and the first JAX compile minutes), hence ``--steps 1``.

    python benchmarks/models.py --quick
    python benchmarks/models.py --steps 2 --backends jax tensorflow
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

TINY = dict(initial_filters=8, growth_rate=4, down_blocks=(2, 3), bottleneck_layers=2, up_blocks=(3, 2))


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def worker(args) -> dict:
    import keras
    import numpy as np

    from lggseg.models import fc_densenet

    keras.utils.set_random_seed(0)
    size, batch, steps = args.size, args.batch, args.steps
    config = TINY if args.quick else {}
    build_s, model = _timed(lambda: fc_densenet(num_classes=8, **config))
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=keras.losses.SparseCategoricalCrossentropy())
    rng = np.random.default_rng(0)
    x = rng.random((batch * steps, size, size, 3), dtype=np.float32)
    y = rng.integers(0, 8, (batch * steps, size, size)).astype("int32")

    first_train_s, _ = _timed(lambda: model.train_on_batch(x[:batch], y[:batch]))

    def loop():
        for i in range(steps):
            model.train_on_batch(x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch])

    train_s, _ = _timed(loop)
    first_predict_s, _ = _timed(lambda: model.predict_on_batch(x[:batch]))

    def predict_loop():
        for i in range(steps):
            np.asarray(model.predict_on_batch(x[i * batch:(i + 1) * batch]))

    predict_s, _ = _timed(predict_loop)
    class EpochTimes(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return steps

        def __getitem__(self, i):
            return x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]

    def fit_epoch_seconds(data: dict) -> tuple[float, float]:
        # Two epochs: fit compiles its own train function in the first; the second is steady.
        timer = EpochTimes()
        timer.seconds = []
        model.fit(**data, epochs=2, verbose=0, callbacks=[timer])
        return timer.seconds[0], timer.seconds[1]

    fit_first_s, fit_arrays_s = fit_epoch_seconds(dict(x=x, y=y, batch_size=batch, shuffle=False))
    _, fit_dataset_s = fit_epoch_seconds(dict(x=Batches()))
    images = batch * steps
    return {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "params": model.count_params(),
        "build_s": build_s,
        "first_train_step_s": first_train_s,
        "train_images_per_s": images / train_s,
        "first_predict_s": first_predict_s,
        "predict_images_per_s": images / predict_s,
        "first_fit_s": fit_first_s,
        "fit_arrays_images_per_s": images / fit_arrays_s,
        "fit_pydataset_images_per_s": images / fit_dataset_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow"])
    parser.add_argument("--steps", type=int, default=1, help="timed batches per measurement (full size: ~80 s each on 2 CPUs)")
    parser.add_argument("--batch", type=int, default=None, help="batch size (default 8; --quick: 2)")
    parser.add_argument("--size", type=int, default=None, help="image side (default 256; --quick: 64)")
    parser.add_argument("--quick", action="store_true", help="a tiny FC-DenseNet, to check the script")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.batch = args.batch or (2 if args.quick else 8)
    args.size = args.size or (64 if args.quick else 256)
    if args.worker:
        print("RESULT " + json.dumps(worker(args)), flush=True)
        return

    results = []
    for backend in args.backends:
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--steps", str(args.steps),
               "--batch", str(args.batch), "--size", str(args.size)] + (["--quick"] if args.quick else [])
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if proc.returncode or not lines:
            print(f"{backend} failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
            continue
        results.append(json.loads(lines[-1][len("RESULT "):]))

    from importlib.metadata import version

    model = "tiny FC-DenseNet (--quick)" if args.quick else "GBM_WSSM FC-DenseNet (9,424,392 params)"
    print(f"# {model}, {args.size}x{args.size}, batch {args.batch}, {args.steps} timed step(s)")
    print(f"# keras {version('keras')}, jax {version('jax')}, tensorflow {version('tensorflow')}, "
          f"python {platform.python_version()}, {platform.platform()}, {os.cpu_count()} CPUs")
    print("| backend | build s | first train step s | train img/s | first predict s | predict img/s "
          "| first fit epoch s | fit(arrays)/loop | fit(PyDataset)/fit(arrays) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['backend']} | {r['build_s']:.1f} | {r['first_train_step_s']:.1f} | "
              f"{r['train_images_per_s']:.3g} | {r['first_predict_s']:.1f} | {r['predict_images_per_s']:.3g} | "
              f"{r['first_fit_s']:.1f} | {r['fit_arrays_images_per_s'] / r['train_images_per_s']:.2f} | "
              f"{r['fit_pydataset_images_per_s'] / r['fit_arrays_images_per_s']:.2f} |")
    if len(results) == 2:
        a, b = results
        print(f"# {a['backend']}/{b['backend']} train speed ratio: "
              f"{a['train_images_per_s'] / b['train_images_per_s']:.2f}; predict: "
              f"{a['predict_images_per_s'] / b['predict_images_per_s']:.2f}")


if __name__ == "__main__":
    main()
