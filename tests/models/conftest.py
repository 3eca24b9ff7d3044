"""Fixtures for the model tests: tiny configurations and a Keras-2-format weights file.

``legacy_h5_files`` writes HDF5 weights the way GBM_WSSM.h5 was written: a tf-keras
(Keras 2) model built with the original code's layer creation order, including the
transition down after the bottleneck that feeds nothing (it leaves gaps in the layer
counters, as in the real file), saved with ``save_weights``. A copy renamed to Keras
2.2.4's one-based counters (``conv2d_1`` ...) and a ``model.save`` file (layers under
``model_weights``) cover the other layouts.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

# Small, but every part of the architecture is there, with distinct channel counts so
# that a wrongly paired layer shows as a shape error as well as in the predictions.
TINY = dict(
    initial_filters=8,
    growth_rate=4,
    down_blocks=(2, 3),
    bottleneck_layers=2,
    up_blocks=(3, 2),
    dropout=0.2,
    weight_decay=1e-4,
)


def build_tf_keras_gbm_wssm(*, num_classes, input_shape, initial_filters, growth_rate, down_blocks,
                            bottleneck_layers, up_blocks, dropout, weight_decay):
    """GBM_WSSM_Model of amin20/GBM_WSSM (Codes/GBM_WSSM.py), rewritten for tf-keras.

    Layer creation order, as in the original: first conv; per block (including the
    bottleneck) the dense layers (relu, bn, conv, dropout, concat) then a transition down
    (relu, bn, 1x1 conv stride 2, dropout) -- the last one unused; per up block: concat
    of the new maps, Conv2DTranspose, concat with the skip, the dense layers; final 1x1
    conv, reshape to (H*W, C), softmax.
    """
    import tf_keras
    from tf_keras import layers

    l2 = tf_keras.regularizers.l2

    def relu_bn(x):
        return layers.BatchNormalization(axis=-1)(layers.Activation("relu")(x))

    def conv(x, nf, sz, wd, p, stride=1):
        x = layers.Conv2D(nf, (sz, sz), strides=(stride, stride), padding="same",
                          kernel_initializer="he_uniform", kernel_regularizer=l2(wd))(x)
        return layers.Dropout(p)(x) if p else x

    def conv_relu_bn(x, nf, sz=3, wd=0, p=0, stride=1):
        return conv(relu_bn(x), nf, sz, wd=wd, p=p, stride=stride)

    def dense_block(n, x, p, wd):
        added = []
        for _ in range(n):
            b = conv_relu_bn(x, growth_rate, p=p, wd=wd)
            x = layers.Concatenate(axis=-1)([x, b])
            added.append(b)
        return x, added

    img_input = layers.Input(shape=input_shape)
    x = conv(img_input, initial_filters, 3, weight_decay, 0)
    skips = []
    added = []
    for n in list(down_blocks) + [bottleneck_layers]:
        x, added = dense_block(n, x, dropout, weight_decay)
        skips.append(x)
        x = conv_relu_bn(x, x.shape[-1], sz=1, p=dropout, wd=weight_decay, stride=2)
    for i, n in enumerate(up_blocks):
        x = layers.Concatenate(axis=-1)(added) if len(added) > 1 else added[0]
        x = layers.Conv2DTranspose(x.shape[-1], (3, 3), strides=(2, 2), padding="same",
                                   kernel_initializer="he_uniform",
                                   kernel_regularizer=l2(weight_decay))(x)
        x = layers.Concatenate(axis=-1)([x, list(reversed(skips[:-1]))[i]])
        x, added = dense_block(n, x, dropout, weight_decay)
    x = conv(x, num_classes, 1, weight_decay, 0)
    x = layers.Reshape((-1, num_classes))(x)
    return tf_keras.Model(img_input, layers.Activation("softmax")(x))


def _to_keras224_names(src: Path, dst: Path) -> None:
    """Copies a tf-keras ``save_weights`` file with Keras 2.2.4's one-based layer counters."""
    import h5py

    def rename(name):
        kind, index = re.match(r"^(.*?)(?:_(\d+))?$", name).groups()
        return f"{kind}_{int(index or 0) + 1}"

    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        names = [n.decode() if isinstance(n, bytes) else n for n in fin.attrs["layer_names"]]
        fout.attrs["layer_names"] = np.array([rename(n).encode() for n in names])
        fout.attrs["backend"] = b"tensorflow"
        fout.attrs["keras_version"] = b"2.2.4"
        for name in names:
            new = rename(name)
            group = fout.create_group(new)
            weight_names = [w.decode() if isinstance(w, bytes) else w
                            for w in fin[name].attrs["weight_names"]]
            renamed = [f"{new}/{w.split('/')[-1]}" for w in weight_names]
            group.attrs["weight_names"] = np.array([w.encode() for w in renamed])
            for old_w, new_w in zip(weight_names, renamed):
                group.create_dataset(new_w, data=np.asarray(fin[name][old_w]))


@pytest.fixture(scope="session")
def tiny_config() -> dict:
    """Keyword arguments of a tiny FC-DenseNet (2 down blocks, input multiples of 4)."""
    return dict(TINY)


@pytest.fixture(scope="session")
def legacy_h5_files(tmp_path_factory):
    """Keras 2 weights of a tiny 8-class GBM_WSSM with random weights, and its predictions.

    Returns ``dict(files={layout: path}, image=(1, 32, 48, 3), expected=(1, 32*48, 8))``.
    """
    import tf_keras

    tf_keras.backend.clear_session()  # restart the automatic layer-name counters
    model = build_tf_keras_gbm_wssm(num_classes=8, input_shape=(None, None, 3), **TINY)
    rng = np.random.default_rng(7)
    # Random values everywhere (moving variances positive) so that any mis-paired layer shows.
    weights = []
    for w in model.weights:
        value = rng.normal(0.0, 0.3, size=w.shape).astype("float32")
        if "moving_variance" in w.name:
            value = np.abs(value) + 0.5
        weights.append(value)
    model.set_weights(weights)
    image = rng.random((1, 32, 48, 3), dtype=np.float32)
    expected = model(image, training=False).numpy()

    folder = tmp_path_factory.mktemp("legacy_h5")
    files = {"tf_keras_save_weights": folder / "tiny_tf_keras.h5",
             "keras224_save_weights": folder / "tiny_keras224.h5",
             "tf_keras_model_save": folder / "tiny_tf_keras_model.h5"}
    model.save_weights(str(files["tf_keras_save_weights"]))
    with warnings.catch_warnings():  # "HDF5 is legacy": that is the point here
        warnings.simplefilter("ignore")
        model.save(str(files["tf_keras_model_save"]))
    _to_keras224_names(files["tf_keras_save_weights"], files["keras224_save_weights"])
    tf_keras.backend.clear_session()
    return dict(files=files, image=image, expected=expected)
