"""Which segmentation-models architecture x backbone x backend combinations work on Keras 3.

For every combination: build (``encoder_weights=None``), a forward pass, and one training
step (sparse categorical cross-entropy, Adam) on random data, each backend in its own
process (the Keras backend is fixed per process). Prints a table, and the backbones that
pass everything per backend, i.e. ``lggseg.models.sm_baselines.SUPPORTED``.

    python benchmarks/sm_matrix.py                      # the default matrix, both backends
    python benchmarks/sm_matrix.py --backbones resnet18 --architectures unet --jsonl out.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ARCHITECTURES = ("unet", "fpn", "linknet", "pspnet")
BACKBONES = (
    "vgg16", "resnet18", "resnet34", "resnet50", "resnext50", "seresnet18",
    "mobilenetv2", "efficientnetb0", "densenet121", "inceptionv3",
)


def _first_line(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".strip().splitlines()[0]
    return text[:160]


def _read_rows(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def worker(args) -> None:
    import keras
    import numpy as np

    from lggseg.models.sm_baselines import build_sm

    rng = np.random.default_rng(0)
    for architecture in args.architectures:
        for backbone in args.backbones:
            size = args.psp_size if architecture == "pspnet" else args.size
            row = {"backend": keras.backend.backend(), "architecture": architecture, "backbone": backbone}
            stage = "build"
            try:
                start = time.perf_counter()
                model = build_sm(architecture, backbone=backbone, num_classes=4, input_shape=(size, size, 3),
                                 name=f"{architecture}_{backbone}", options={})
                row["build_s"] = round(time.perf_counter() - start, 1)
                row["params"] = model.count_params()
                x = rng.random((2, size, size, 3), dtype=np.float32)
                y = rng.integers(0, 4, (2, size, size)).astype("int32")
                stage = "forward"
                start = time.perf_counter()
                out = model.predict(x, verbose=0)
                if out.shape != (2, size, size, 4):
                    raise ValueError(f"output shape {out.shape}")
                row["forward_s"] = round(time.perf_counter() - start, 1)
                stage = "train"
                model.compile(optimizer=keras.optimizers.Adam(1e-3),
                              loss=keras.losses.SparseCategoricalCrossentropy())
                start = time.perf_counter()
                loss = float(np.asarray(model.train_on_batch(x, y)))
                if not np.isfinite(loss):
                    raise ValueError(f"loss {loss}")
                row["train_s"] = round(time.perf_counter() - start, 1)
                row["status"] = "ok"
            except Exception as err:  # noqa: BLE001 -- recording the failure is the point
                row["status"] = f"{stage} fails: {_first_line(err)}"
            keras.backend.clear_session()
            print(json.dumps(row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow"])
    parser.add_argument("--architectures", nargs="+", default=list(ARCHITECTURES))
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES))
    parser.add_argument("--size", type=int, default=64, help="input side for unet/fpn/linknet")
    parser.add_argument("--psp-size", type=int, default=96, help="input side for pspnet (multiple of 48)")
    parser.add_argument("--jsonl", default=os.path.join(tempfile.gettempdir(), "lggseg_sm_matrix.jsonl"),
                        help="rows are appended here as they finish (watch progress; rerun to resume)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    for backend in args.backends:
        env = {**os.environ, "KERAS_BACKEND": backend, "SM_FRAMEWORK": "tf.keras", "TF_CPP_MIN_LOG_LEVEL": "3"}
        cmd = [sys.executable, __file__, "--worker", "--size", str(args.size), "--psp-size", str(args.psp_size)]
        done = {(r["architecture"], r["backbone"]) for r in _read_rows(args.jsonl) if r["backend"] == backend}
        todo = [(a, b) for a in args.architectures for b in args.backbones if (a, b) not in done]
        for architecture in sorted({a for a, _ in todo}):
            backbones = [b for a, b in todo if a == architecture]
            with tempfile.TemporaryFile("w+") as err, open(args.jsonl, "a") as out:
                proc = subprocess.Popen(cmd + ["--architectures", architecture, "--backbones", *backbones],
                                        env=env, stdout=subprocess.PIPE, stderr=err, text=True)
                for line in proc.stdout:
                    if line.startswith("{"):
                        out.write(line)
                        out.flush()
                if proc.wait():
                    err.seek(0)
                    print(err.read()[-3000:], file=sys.stderr)
    rows = [r for r in _read_rows(args.jsonl) if r["backend"] in args.backends]

    import keras

    print(f"# segmentation-models matrix: keras {keras.__version__}, {platform.platform()}, "
          f"python {platform.python_version()}, {os.cpu_count()} CPUs")
    print("| architecture | backbone | " + " | ".join(args.backends) + " |")
    print("|---|---|" + "---|" * len(args.backends))
    for architecture in args.architectures:
        for backbone in args.backbones:
            cells = []
            for backend in args.backends:
                match = [r for r in rows if (r["backend"], r["architecture"], r["backbone"]) ==
                         (backend, architecture, backbone)]
                if not match:
                    cells.append("not run")
                elif match[0]["status"] == "ok":
                    r = match[0]
                    cells.append(f"ok (build {r['build_s']} s, step {r['train_s']} s)")
                else:
                    cells.append(match[0]["status"])
            print(f"| {architecture} | {backbone} | " + " | ".join(cells) + " |")
    for backend in args.backends:
        good = [b for b in args.backbones
                if all(any(r["backend"] == backend and r["architecture"] == a and r["backbone"] == b
                           and r["status"] == "ok" for r in rows) for a in args.architectures)]
        print(f"SUPPORTED[{backend!r}] = {tuple(good)}")


if __name__ == "__main__":
    main()
