"""FC-DenseNet ("One Hundred Layers Tiramisu"), configured by default as GBM_WSSM.

GBM_WSSM (public repository amin20/GBM_WSSM, Keras 2.2.4) is an FC-DenseNet103 trained on
the eight IvyGAP regions. This builder reproduces its graph layer for layer, including
the details that differ from the paper:

* each dense layer is ReLU -> BatchNormalization -> 3x3 convolution -> Dropout, i.e. the
  activation comes *before* batch normalisation;
* the transition down is ReLU -> BN -> 1x1 convolution with stride 2 (keeping the channel
  count) -> Dropout; there is no pooling layer;
* every convolution is ``he_uniform`` with an L2 kernel penalty (1e-4), the first 3x3
  convolution and the final 1x1 classifier have no dropout;
* the transition up is a 3x3 ``Conv2DTranspose`` with stride 2 applied to the
  concatenation of the *new* maps of the previous block (not its whole output), then
  concatenated with the skip connection;
* the 15-layer bottleneck is followed in the original code by another transition down
  that feeds nothing; it is not part of the model and not built here.

With the defaults and 8 classes the model has exactly 9,424,392 parameters and its last
up-path block outputs 256 maps (80 up-sampled + 112 skip + 4 x 16 new). Those 256 maps
are the layer named ``"features"``; the 1x1 ``"classifier"`` and the ``"softmax"``
follow. The input is pixel / 255 in [0, 1] (the model does not rescale).

Any input size works: :class:`~lggseg.models.padding.PadToMultiple` pads the input to a
multiple of ``2 ** len(down_blocks)`` and ``"features"`` is cropped back to the input
size; neither holds weights, so GBM_WSSM's weights load unchanged.

Reference:
  Jégou et al., "The One Hundred Layers Tiramisu: Fully Convolutional DenseNets for
  Semantic Segmentation", CVPR Workshops 2017. Zadeh Shirazi et al., "A deep
  convolutional neural network for segmentation of whole-slide pathology images
  identifies novel tumour cell-perivascular niche interactions that are associated with
  poor survival in glioblastoma", Br J Cancer 2021 (GBM_WSSM).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from typing import Any

import keras

from lggseg.models.padding import PadToMultiple, CropToMatch

FEATURES_LAYER = "features"
CLASSIFIER_LAYER = "classifier"


def fc_densenet(
    *,
    num_classes: int = 8,
    input_shape: tuple[int | None, int | None, int] = (None, None, 3),
    initial_filters: int = 48,
    growth_rate: int = 16,
    down_blocks: Sequence[int] = (4, 5, 7, 10, 12),
    bottleneck_layers: int = 15,
    up_blocks: Sequence[int] = (12, 10, 7, 5, 4),
    dropout: float = 0.2,
    weight_decay: float = 1e-4,
    flatten_output: bool = False,
    pad_mode: str = "symmetric",
    name: str = "fc_densenet",
) -> keras.Model:
    """Builds an FC-DenseNet; the defaults are GBM_WSSM (9,424,392 parameters for 8 classes).

    Args:
      num_classes: output classes (GBM_WSSM: 8, in the order of ``lggseg.IVYGAP_8``).
      input_shape: ``(H, W, 3)``; ``None`` sides make the model fully convolutional.
      initial_filters: filters of the first 3x3 convolution.
      growth_rate: maps added by each dense layer.
      down_blocks: layers per dense block of the down path (each followed by a
        transition down).
      bottleneck_layers: layers of the dense block at the lowest resolution.
      up_blocks: layers per dense block of the up path; as many as ``down_blocks``.
      dropout: dropout rate after every 3x3 and transition convolution (0 disables it).
      weight_decay: L2 factor on every convolution kernel (0 disables it).
      flatten_output: output ``(B, H * W, C)`` like the original instead of ``(B, H, W, C)``.
      pad_mode: how inputs whose sides are not multiples of ``2 ** len(down_blocks)`` are
        padded: ``"symmetric"``, ``"reflect"`` or ``"constant"`` (see ``PadToMultiple``).
      name: the model's name.

    Returns:
      A functional ``keras.Model`` from float32 ``(B, H, W, 3)`` in [0, 1] to softmax
      probabilities ``(B, H, W, num_classes)`` (or ``(B, H * W, num_classes)``).
    """
    down_blocks, up_blocks = _check_config(
        num_classes=num_classes, input_shape=input_shape, initial_filters=initial_filters,
        growth_rate=growth_rate, down_blocks=down_blocks, bottleneck_layers=bottleneck_layers,
        up_blocks=up_blocks, dropout=dropout,
    )
    multiple = 2 ** len(down_blocks)
    layers = keras.layers
    net = _Layers(growth_rate=growth_rate, dropout=dropout, weight_decay=weight_decay)

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = PadToMultiple(multiple=multiple, mode=pad_mode, name="pad")(inputs)
    x = net.conv(x, initial_filters, 3, "initial", rate=0)

    skips = []
    for i, n_layers in enumerate(down_blocks, start=1):
        x, _ = net.dense_block(x, n_layers, f"down{i}")
        skips.append(x)
        channels = x.shape[-1]
        x = net.relu_bn_conv(x, channels, 1, f"down{i}_transition", stride=2)
    # The original builds one more transition down after the bottleneck; it feeds nothing.
    _, added = net.dense_block(x, bottleneck_layers, "bottleneck")

    for i, (n_layers, skip) in enumerate(zip(up_blocks, reversed(skips)), start=1):
        # Only the new maps of the previous block are up-sampled (keeps the width bounded).
        x = added[0] if len(added) == 1 else layers.Concatenate(axis=-1, name=f"up{i}_new_maps")(added)
        x = layers.Conv2DTranspose(
            x.shape[-1], 3, strides=2, padding="same", kernel_initializer="he_uniform",
            kernel_regularizer=net.regularizer, name=f"up{i}_transition_conv",
        )(x)
        x = layers.Concatenate(axis=-1, name=f"up{i}_skip_concat")([x, skip])
        x, added = net.dense_block(x, n_layers, f"up{i}")

    x = CropToMatch(multiple=multiple, name=FEATURES_LAYER)([x, inputs])
    x = net.conv(x, num_classes, 1, CLASSIFIER_LAYER, rate=0)
    if flatten_output:
        x = layers.Reshape((-1, num_classes), name="flatten")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(x)
    return keras.Model(inputs, outputs, name=name)


def _check_config(
    *, num_classes, input_shape, initial_filters, growth_rate, down_blocks, bottleneck_layers, up_blocks, dropout
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The block lists as int tuples, or a ValueError naming the argument that cannot build a network."""
    down_blocks = tuple(int(n) for n in down_blocks)
    up_blocks = tuple(int(n) for n in up_blocks)
    if len(down_blocks) != len(up_blocks):
        raise ValueError(
            f"fc_densenet: down_blocks {down_blocks} and up_blocks {up_blocks} must have the same "
            f"length (one up block per skip connection)."
        )
    for label, value in [("num_classes", num_classes), ("initial_filters", initial_filters),
                         ("growth_rate", growth_rate), ("bottleneck_layers", bottleneck_layers)]:
        if int(value) < 1:
            raise ValueError(f"fc_densenet: {label} must be >= 1, got {value}.")
    if not down_blocks or min(down_blocks + up_blocks) < 1:
        raise ValueError(
            f"fc_densenet: every block needs >= 1 layer; got down_blocks={down_blocks}, up_blocks={up_blocks}."
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"fc_densenet: dropout must be in [0, 1), got {dropout}.")
    if len(input_shape) != 3:
        raise ValueError(f"fc_densenet: input_shape must be (H, W, channels), got {input_shape}.")
    return down_blocks, up_blocks


class _Layers:
    """GBM_WSSM's building blocks; every call adds named layers to the graph, in call order."""

    def __init__(self, *, growth_rate: int, dropout: float, weight_decay: float):
        self.growth_rate = growth_rate
        self.dropout = dropout
        self.regularizer = keras.regularizers.L2(weight_decay) if weight_decay else None

    def conv(self, x, filters, size, prefix, *, rate, stride=1):
        x = keras.layers.Conv2D(
            filters, size, strides=stride, padding="same", kernel_initializer="he_uniform",
            kernel_regularizer=self.regularizer, name=f"{prefix}_conv",
        )(x)
        return keras.layers.Dropout(rate, name=f"{prefix}_dropout")(x) if rate else x

    def relu_bn_conv(self, x, filters, size, prefix, *, stride=1):
        # Activation before batch normalisation, as in GBM_WSSM's RELU_BN.
        x = keras.layers.Activation("relu", name=f"{prefix}_relu")(x)
        x = keras.layers.BatchNormalization(axis=-1, name=f"{prefix}_bn")(x)
        return self.conv(x, filters, size, prefix, rate=self.dropout, stride=stride)

    def dense_block(self, x, n_layers, prefix):
        added = []
        for j in range(1, n_layers + 1):
            new = self.relu_bn_conv(x, self.growth_rate, 3, f"{prefix}_layer{j}")
            x = keras.layers.Concatenate(axis=-1, name=f"{prefix}_layer{j}_concat")([x, new])
            added.append(new)
        return x, added


# The deprecated alias's defaults: what the scratch baseline changes (gin/scratch_fc_densenet.gin
# now sets the same through scratch/fc_densenet.*).
_SCRATCH_DEFAULTS = {"num_classes": 4, "name": "scratch_fc_densenet"}


def scratch_fc_densenet(**arguments: Any) -> keras.Model:
    """Deprecated: the scratch baseline is now ``@scratch/fc_densenet`` in gin.

    Kept for one release with its old behaviour: :func:`fc_densenet` with ``num_classes=4``
    and ``name="scratch_fc_densenet"`` by default, any of :func:`fc_densenet`'s arguments
    (gin ``scratch_fc_densenet.*`` bindings included), and *not* the ``fc_densenet.*``
    bindings (those apply to ``@scratch/fc_densenet``). Its signature is
    :func:`fc_densenet`'s (set below), so gin and Python reject a misspelt argument as before.

    Migrate ``train.model = @scratch_fc_densenet`` to ``train.model = @scratch/fc_densenet``
    with ``scratch/fc_densenet.num_classes = 4`` (as ``gin/scratch_fc_densenet.gin`` does) and
    bind the width once, as ``fc_densenet.*``.
    """
    # FutureWarning, not DeprecationWarning: the user is a config author and Python hides
    # DeprecationWarnings raised outside __main__ (this is called from gin).
    warnings.warn(
        "lggseg.models.scratch_fc_densenet is deprecated and will be removed in the next release: use "
        "'train.model = @scratch/fc_densenet' with 'scratch/fc_densenet.num_classes = 4' (see "
        "gin/scratch_fc_densenet.gin) and bind the width as fc_densenet.* for the source and the baseline.",
        FutureWarning,
        stacklevel=2,
    )
    return fc_densenet(**{**_SCRATCH_DEFAULTS, **arguments})


# fc_densenet's arguments, derived rather than copied (a copy is how the old baseline drifted);
# gin reads this signature to validate scratch_fc_densenet.* bindings.
scratch_fc_densenet.__signature__ = inspect.signature(fc_densenet).replace(
    parameters=[
        p.replace(default=_SCRATCH_DEFAULTS.get(p.name, p.default))
        for p in inspect.signature(fc_densenet).parameters.values()
    ]
)
