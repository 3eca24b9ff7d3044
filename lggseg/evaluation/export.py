"""Export a trained run for inference without lggseg: a TensorFlow SavedModel and ONNX.

A run's ``model.keras`` loads only where lggseg is installed (its layers ``PadToMultiple``
and ``CropToMatch`` are lggseg classes). :func:`export_run` traces the network into a graph
that needs no lggseg code, and writes beside it what lggseg does around the network and a
user of the export must do too::

    OUT/
      saved_model/         TensorFlow SavedModel; endpoint ``serve``: (B, H, W, 3) -> (B, H, W, C)
      model.onnx           the same graph as ONNX (``--format onnx``)
      preprocessing.json   the contract: input scaling, sizes, classes, normaliser, resolution
      classes.tsv          copied from the run: the output classes in index order
      normalizer.json      copied from the run (when it used one): the fitted stain normaliser
      decision_rule.json   copied from the run (when it has one): optional class weights

``preprocessing.json`` keys:

* ``input``: NHWC float32 RGB in [0, 1], i.e. ``uint8 / 255`` (``scale``); the network
  does not rescale. ``side_multiple``: the network pads each side to this multiple itself
  (mirrored), so any size of at least ``min_side`` works; ``null`` when the model holds no
  ``PadToMultiple`` (then its own input constraints apply).
* ``tiling``: how ``lggseg predict`` tiles large images (tile size, overlap, Gaussian
  blending); the training tile size when the run's ``config.gin`` records one.
* ``output``: softmax probabilities, and one entry per class (index, code, name, colour).
* ``stain_normalizer``: the method and file; images must be normalised the same way
  (one estimate per whole image, before tiling), or ``null`` when the run used none.
* ``resample_factor``: the factor the training images were resampled by on reading (the
  run's ``resolution.json``; 1.0 when it has none); ``microns_per_pixel``: their resolution
  after it, or ``null`` with a note when the data source did not know it.
* ``check``: the largest absolute difference of probabilities between the export and the
  Keras model on one random tile, measured while exporting.

Both formats are traced on the TensorFlow backend. On JAX, Keras would convert through
jax2tf, which cannot lower the mirrored padding of ``PadToMultiple`` for inputs of unknown
size; the exported graph is the same either way (the weights are the model's), so
:func:`export_run` asks for TensorFlow and ``lggseg export`` re-runs itself on it.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lggseg.atomic_write import atomic_write
from lggseg.evaluation.trained_model import CLASSES_FILE, NORMALIZER_FILE, load_trained_model

__all__ = ["EXPORT_FORMATS", "PREPROCESSING_FILE", "export_run", "parse_formats"]

# format name -> what it writes in the output folder.
EXPORT_FORMATS = {"saved_model": "saved_model", "onnx": "model.onnx"}
PREPROCESSING_FILE = "preprocessing.json"
DECISION_RULE_FILE = "decision_rule.json"
FORMAT_VERSION = 1
# What `lggseg predict` uses when the model takes any size (SlidingWindowPredictor).
_PREDICT_TILE = 256
_PREDICT_OVERLAP = 0.25


def parse_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """Format names from a list whose items may be comma lists, e.g. ``["saved_model,onnx"]``.

    Raises:
      ValueError: naming an unknown format and the valid ones, or when none is given.
    """
    names: list[str] = []
    for item in formats:
        for name in (part.strip() for part in str(item).split(",")):
            if not name:
                continue
            if name not in EXPORT_FORMATS:
                raise ValueError(f"Unknown export format {name!r}; valid formats: {', '.join(EXPORT_FORMATS)}.")
            if name not in names:
                names.append(name)
    if not names:
        raise ValueError(f"No export format given; valid formats: {', '.join(EXPORT_FORMATS)}.")
    return tuple(names)


def export_run(
    *,
    run_dir: str | Path,
    out_dir: str | Path,
    formats: Sequence[str] = ("saved_model",),
    overwrite: bool = False,
    check: bool = True,
) -> dict[str, Any]:
    """Export a run's model (or a ``.keras`` file with its side files) for use without lggseg.

    Args:
      run_dir: a run directory or a ``.keras`` file (see :func:`load_trained_model`).
      out_dir: the output folder (created).
      formats: ``"saved_model"`` and/or ``"onnx"`` (comma lists accepted).
      overwrite: replace exports already in ``out_dir``.
      check: run each export on one random tile and record its largest difference from
        the Keras model in ``preprocessing.json`` (``check``).

    Returns:
      The ``preprocessing.json`` record.

    Raises:
      ValueError: on a backend other than TensorFlow, an unknown format, an existing
        export without ``overwrite``, or ONNX without tf2onnx installed.
      FileNotFoundError: naming a missing run directory or model.
    """
    import keras

    names = parse_formats(formats)
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"Exporting needs the TensorFlow backend, but Keras runs on {keras.backend.backend()!r} (on JAX, "
            f"jax2tf cannot lower PadToMultiple's mirrored padding for inputs of any size); set "
            f"KERAS_BACKEND=tensorflow before keras is imported, or use `lggseg export`, which re-runs itself "
            f"on TensorFlow."
        )
    if "onnx" in names:
        _require_onnx_tools()
    out_dir = Path(out_dir)
    targets = [out_dir / EXPORT_FORMATS[name] for name in names] + [out_dir / PREPROCESSING_FILE]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not overwrite:
        raise ValueError(f"{', '.join(existing)} already exist; choose another output folder or pass overwrite.")
    trained = load_trained_model(run_dir)
    model = trained.model
    out_dir.mkdir(parents=True, exist_ok=True)

    record = _contract(trained)
    probe = _probe_tile(record)
    expected = model.predict_on_batch(probe) if check else None
    record["formats"] = {}
    for name in names:
        path = out_dir / EXPORT_FORMATS[name]
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        if name == "saved_model":
            model.export(str(path), format="tf_saved_model", verbose=False)
            entry = {"path": path.name, "endpoint": "serve", "load": "tf.saved_model.load(path).serve(x)"}
        else:
            model.export(str(path), format="onnx", verbose=False)
            entry = {"path": path.name, "input_name": _onnx_input_name(path),
                     "load": "onnxruntime.InferenceSession(path).run(None, {input_name: x})[0]"}
        if check:
            entry["check"] = _check(name, path, probe=probe, expected=expected)
        record["formats"][name] = entry

    for src in (CLASSES_FILE, NORMALIZER_FILE, DECISION_RULE_FILE):
        if (trained.folder / src).is_file():
            shutil.copyfile(trained.folder / src, out_dir / src)
    with atomic_write(out_dir / PREPROCESSING_FILE) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
    return record


def _contract(trained) -> dict[str, Any]:
    """Everything of ``preprocessing.json`` but the formats."""
    import keras

    import lggseg
    from lggseg.models.padding import PadToMultiple

    model = trained.model
    in_shape = [None if s is None else int(s) for s in model.input_shape]
    out_shape = [None if s is None else int(s) for s in model.output_shape]
    pads = [layer for layer in _all_layers(model) if isinstance(layer, PadToMultiple)]
    multiple = max((p.multiple for p in pads), default=None)
    fixed = in_shape[1] if in_shape[1] is not None else None
    scheme = trained.scheme
    folder = trained.folder
    normalizer = None
    if trained.normalizer is not None:
        normalizer = {
            "method": trained.normalizer.method,
            "file": NORMALIZER_FILE,
            "note": (
                "The network was trained on and predicts stain-normalised images: normalise each whole image "
                "(one stain estimate per image, then cut the tiles) with this fitted normaliser, e.g. "
                "lggseg.stain.load_normalizer('normalizer.json').transform(image) on uint8 RGB; the export "
                "does not include it."
            ),
        }
    decision = None
    if (folder / DECISION_RULE_FILE).is_file():
        decision = {
            "file": DECISION_RULE_FILE,
            "note": ("Optional: multiply the probabilities by the per-class weights and renormalise before the "
                     "argmax (fitted on validation; lggseg predict reports the plain argmax)."),
        }
    return {
        "format_version": FORMAT_VERSION,
        "source": {
            "model": str(trained.model_path),
            "lggseg_version": getattr(lggseg, "__version__", None),
            "keras_version": keras.__version__,
            "exported_on_backend": keras.backend.backend(),
        },
        "input": {
            "layout": "NHWC",
            "channels": "RGB",
            "dtype": "float32",
            "shape": in_shape,
            "range": [0.0, 1.0],
            "scale": 1.0 / 255.0,
            "note": "x = uint8_rgb.astype(float32) / 255 (the network does not rescale), after stain normalisation.",
            "side_multiple": multiple,
            "min_side": None if multiple is None else max(1, multiple // 2),
            "padding_note": (
                "The network itself pads each side (mirrored, symmetric) to the next multiple of side_multiple "
                "and crops its output back, so any size of at least min_side pixels works."
                if multiple is not None else
                "The model holds no PadToMultiple layer; give it sizes its architecture accepts."
            ),
        },
        "tiling": {
            "tile_size": fixed or _PREDICT_TILE,
            "overlap": _PREDICT_OVERLAP,
            "blend": "gaussian window, sigma = tile_size / 8 (nnU-Net)",
            "training_tile_size": _training_tile_size(folder),
            "note": ("How lggseg predict cuts images larger than a tile: overlapping tiles whose probabilities are "
                     "averaged with a centre-weighted window; smaller images are reflect-padded to a tile."),
        },
        "output": {
            "shape": out_shape,
            "kind": "softmax probabilities (each pixel sums to 1); the class map is their argmax",
            "classes": [
                {"index": i, "code": code, "name": name, "colour": list(colour)}
                for i, (code, name, colour) in enumerate(zip(scheme.codes, scheme.names, scheme.colours))
            ],
        },
        "stain_normalizer": normalizer,
        "stain_normalizer_note": None if normalizer else "The run used no stain normaliser: feed the RGB image as is.",
        "decision_rule": decision,
        "resample_factor": trained.resolution.scale,
        "resample_note": ("Resample each image file by this factor (area interpolation) before the network, and "
                          "the class map back to the file's size (nearest): the training images were read so."),
        "microns_per_pixel": trained.resolution.mpp,
        "microns_per_pixel_note": (
            "The resolution the network saw in training (after resample_factor)." if trained.resolution.mpp else
            "Not known to the run (its data source gave none): give the export images resampled like the "
            "training images (resample_factor; for slides, the level that matches them)."
        ),
    }


def _all_layers(model):
    """The layers of ``model`` and of the models nested in it (a transfer model wraps its source)."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def _training_tile_size(folder: Path) -> int | None:
    """``train.tile_size`` from the run's operative ``config.gin``; ``None`` when absent."""
    path = folder / "config.gin"
    if not path.is_file():
        return None
    match = re.search(r"^\s*train\.tile_size\s*=\s*(\d+)\s*$", path.read_text(), flags=re.MULTILINE)
    return int(match.group(1)) if match else None


def _probe_tile(record: dict[str, Any]):
    import numpy as np

    side = record["input"]["shape"][1] or min(record["tiling"]["tile_size"], 64)
    # Not a multiple of the padding multiple, so the check covers the in-graph padding too.
    if record["input"]["shape"][1] is None and record["input"]["side_multiple"]:
        side += 1
    return np.random.default_rng(0).random((1, side, side, 3), dtype=np.float32)


def _check(name: str, path: Path, *, probe, expected) -> dict[str, Any]:
    """Run the export on ``probe``; its largest absolute difference from the Keras model."""
    import numpy as np

    if name == "saved_model":
        import tensorflow as tf

        # Keep the loaded object alive while its function runs (its variables die with it).
        loaded = tf.saved_model.load(str(path))
        got = loaded.serve(probe).numpy()
    else:
        try:
            import onnxruntime
        except ImportError:
            return {"max_abs_difference": None, "note": "onnxruntime is not installed: not checked"}
        session = onnxruntime.InferenceSession(str(path))
        got = session.run(None, {session.get_inputs()[0].name: probe})[0]
    diff = float(np.max(np.abs(np.asarray(got) - np.asarray(expected))))
    return {"max_abs_difference": diff, "tile_shape": list(probe.shape)}


def _require_onnx_tools() -> None:
    try:
        import onnx  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError as err:
        raise ValueError(
            f"The onnx format needs tf2onnx and onnx ({err}); install them with pip install 'lggseg[export]', "
            f"or export only saved_model."
        ) from None


def _onnx_input_name(path: Path) -> str:
    import onnx

    return onnx.load(str(path)).graph.input[0].name
