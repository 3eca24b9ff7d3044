"""Load Keras 2 HDF5 weights (GBM_WSSM.h5) into a Keras 3 model, by layer type and creation order.

GBM_WSSM's published weights were written by ``model.save_weights`` in Keras 2.2.4: one HDF5
group per layer, named automatically after the layer class with a counter in creation
order (``conv2d_1``, ``batch_normalization_1``, ``conv2d_transpose_1``, ...). Keras 3 reads
such a file by the topological order of the model's weighted layers, and Keras 2.2.4 may
order ties differently, so this loader matches layers instead by *type* and *creation
order*: the file's layers of one type sorted by their numeric suffix are paired with the
model's layers of that type in the model's order (for :func:`~lggseg.models.fc_densenet`
the order in which the builder created them, which is also GBM_WSSM's creation order).
Counters have gaps where the original code built layers that are not part of the model
(the transition down after the bottleneck); sorting by suffix is unaffected.

Every pair's weight shapes are checked before anything is assigned, so a file of another
architecture or class count fails with an error that names the mismatch and leaves the
model untouched. Files saved by tf-keras (``save_weights``: layer groups at the top level;
``model.save``: under ``model_weights``) load the same way; a file whose layer names are
exactly the model's layer names is matched by name.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np

# Keras' automatic layer names: the class name in snake case plus "_<counter>".
_AUTO_NAME = re.compile(r"^(?P<kind>.*?)(?:_(?P<index>\d+))?$")


def _layer_kind(layer: keras.layers.Layer) -> str:
    # Conv2DTranspose is checked first: its Keras 2 name prefix differs from Conv2D's.
    if isinstance(layer, keras.layers.Conv2DTranspose):
        return "conv2d_transpose"
    if isinstance(layer, keras.layers.Conv2D):
        return "conv2d"
    if isinstance(layer, keras.layers.BatchNormalization):
        return "batch_normalization"
    return type(layer).__name__


def _short(weight_name: str) -> str:
    """``'model/conv2d_1/kernel:0'`` -> ``'kernel'``."""
    return weight_name.split("/")[-1].split(":")[0]


def _decode(values) -> list[str]:
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def read_keras2_weights(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """Reads a Keras 2 HDF5 weights file: ``{layer name: {weight name: array}}`` in file order.

    Only layers that hold weights are returned; weight names are short (``kernel``,
    ``bias``, ``gamma``, ``beta``, ``moving_mean``, ``moving_variance``).

    Raises:
      FileNotFoundError: naming ``path``.
      ValueError: naming ``path``, when it is not a Keras 2 HDF5 weights or model file.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Keras 2 weights file {path} does not exist.")
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path} is not an HDF5 file ({err}).") from err
    with handle as f:
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in group.attrs:
            raise ValueError(
                f"{path} has no 'layer_names' attribute, so it is not a Keras 2 HDF5 weights file "
                f"(model.save_weights / model.save in Keras 2 or tf-keras). Keras 3 '.weights.h5' "
                f"and '.keras' files load with lggseg.models.load_weights."
            )
        layers: dict[str, dict[str, np.ndarray]] = {}
        for name in _decode(group.attrs["layer_names"]):
            weight_names = _decode(group[name].attrs.get("weight_names", []))
            if weight_names:
                layers[name] = {_short(w): np.asarray(group[name][w]) for w in weight_names}
        return layers


def _weighted_layers(model: keras.Model) -> list[keras.layers.Layer]:
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(_weighted_layers(layer))
        elif layer.weights:
            found.append(layer)
    return found


def _pair_by_creation_order(
    file_layers: dict[str, dict[str, np.ndarray]], model_layers: list, path: Path
) -> list[tuple[str, keras.layers.Layer]]:
    by_kind_file: dict[str, list[tuple[int, str]]] = {}
    for name in file_layers:
        match = _AUTO_NAME.match(name)
        kind, index = match["kind"], int(match["index"] or 0)
        by_kind_file.setdefault(kind, []).append((index, name))
    by_kind_model: dict[str, list] = {}
    for layer in model_layers:
        by_kind_model.setdefault(_layer_kind(layer), []).append(layer)

    counts_file = {k: len(v) for k, v in sorted(by_kind_file.items())}
    counts_model = {k: len(v) for k, v in sorted(by_kind_model.items())}
    if counts_file != counts_model:
        raise ValueError(
            f"{path} holds another architecture: weighted layers per type in the file "
            f"{counts_file}, in the model {counts_model}. Build the model with the configuration "
            f"the file was trained with (GBM_WSSM.h5: lggseg.models.fc_densenet() with defaults)."
        )
    pairs = []
    for kind, entries in by_kind_file.items():
        for (_, file_name), layer in zip(sorted(entries), by_kind_model[kind]):
            pairs.append((file_name, layer))
    return pairs


def load_gbm_wssm_weights(model: keras.Model, path: str | Path) -> dict[str, str]:
    """Loads a Keras 2 HDF5 weights file such as GBM_WSSM.h5 into ``model``.

    Layers are matched by type and creation order (see the module docstring), or by name
    when the file's layer names are exactly the model's. All shapes are checked before
    any weight is assigned.

    Args:
      model: a Keras 3 model of the same architecture, e.g. ``fc_densenet(num_classes=8)``.
      path: the ``.h5`` file.

    Returns:
      ``{model layer name: file layer name}`` for every loaded layer.

    Raises:
      FileNotFoundError: naming ``path``.
      ValueError: naming ``path`` and the mismatch: another count of layers per type
        (another architecture), another class count, or the first layers whose weight
        shapes differ.
    """
    path = Path(path)
    file_layers = read_keras2_weights(path)
    model_layers = _weighted_layers(model)
    by_name = {layer.name: layer for layer in model_layers}
    if set(file_layers) == set(by_name):
        pairs = [(name, by_name[name]) for name in file_layers]
    else:
        pairs = _pair_by_creation_order(file_layers, model_layers, path)

    mismatches = []
    for file_name, layer in pairs:
        stored = file_layers[file_name]
        expected = {w.name: tuple(w.shape) for w in layer.weights}
        found = {k: tuple(v.shape) for k, v in stored.items()}
        if expected != found:
            mismatches.append((file_name, layer, found, expected))
    if mismatches:
        last_layer = model_layers[-1]
        file_name, layer, found, expected = mismatches[0]
        if len(mismatches) == 1 and layer is last_layer and "kernel" in found and "kernel" in expected:
            raise ValueError(
                f"{path} was trained for {found['kernel'][-1]} classes, the model has "
                f"{expected['kernel'][-1]} (its last layer {layer.name!r}, file layer {file_name!r}). "
                f"Build the model with num_classes={found['kernel'][-1]} (GBM_WSSM: 8) and attach a new "
                f"head with lggseg.models.gbm_transfer."
            )
        listed = "; ".join(
            f"file {f!r} {fs} vs model {lay.name!r} {es}" for f, lay, fs, es in mismatches[:3]
        )
        raise ValueError(
            f"{path} holds another architecture: {len(mismatches)} layers have other weight shapes, "
            f"e.g. {listed}."
        )

    for file_name, layer in pairs:
        stored = file_layers[file_name]
        layer.set_weights([stored[w.name] for w in layer.weights])
    return {layer.name: file_name for file_name, layer in pairs}
