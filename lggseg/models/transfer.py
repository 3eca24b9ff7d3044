"""The transfer model: a source network's feature maps plus a new small segmentation head.

lggseg's method attaches to GBM_WSSM's last 256 feature maps (the input of its 8-class
classifier) a head of two 1x1 convolutions -- Conv2D(16, relu) -> Conv2D(num_classes) ->
softmax, 4,180 parameters for 4 classes -- and trains it, then unfreezes more and more of
the source (see :func:`~lggseg.models.freezing.freeze_all_but_last`). The source's own
classifier and softmax are not part of the new model.
"""

from __future__ import annotations

import keras

from lggseg.models.fc_densenet import FEATURES_LAYER

HEAD_LAYERS = ("head_conv", "head_classifier", "head_softmax")


def default_feature_layer(source: keras.Model) -> str:
    """Name of the layer whose output feeds the head when none is chosen.

    The layer named ``"features"`` when there is one (FC-DenseNet: the 256 maps of the last
    dense block, cropped to the input size); otherwise the layer that feeds the source's
    last convolution (its classifier).
    """
    names = [layer.name for layer in source.layers]
    if FEATURES_LAYER in names:
        return FEATURES_LAYER
    convs = [layer for layer in source.layers if isinstance(layer, keras.layers.Conv2D)]
    if not convs:
        raise ValueError(
            f"gbm_transfer: source {source.name!r} has no layer named {FEATURES_LAYER!r} and no Conv2D; "
            f"pass feature_layer= one of its layers."
        )
    classifier_input = convs[-1].input
    for layer in source.layers:
        if layer.output is classifier_input:
            return layer.name
    raise ValueError(f"gbm_transfer: could not find the layer feeding {convs[-1].name!r}; pass feature_layer=.")


def gbm_transfer(
    *,
    source: keras.Model,
    num_classes: int = 4,
    feature_layer: str | None = None,
    head_filters: int = 16,
    name: str = "gbm_transfer",
) -> keras.Model:
    """Attaches a new 1x1-convolution head to a feature layer of ``source``.

    Args:
      source: the model to transfer from, usually ``fc_densenet(num_classes=8)`` with
        GBM_WSSM's weights loaded. Its layers are shared, not copied.
      num_classes: classes of the new task (LGG: 4, in ``lggseg.LGG_4`` order).
      feature_layer: name of the source layer whose ``(B, H, W, F)`` output feeds the head;
        default: :func:`default_feature_layer`.
      head_filters: filters of the head's hidden 1x1 convolution (ReLU).
      name: the model's name.

    Returns:
      A model from the source's input to softmax probabilities ``(B, H, W, num_classes)``,
      whose last three layers are ``head_conv``, ``head_classifier`` and ``head_softmax``.
    """
    if int(num_classes) < 1 or int(head_filters) < 1:
        raise ValueError(
            f"gbm_transfer: num_classes and head_filters must be >= 1, got {num_classes} and {head_filters}."
        )
    layer_name = feature_layer or default_feature_layer(source)
    names = [layer.name for layer in source.layers]
    if layer_name not in names:
        raise ValueError(
            f"gbm_transfer: source {source.name!r} has no layer {layer_name!r}; its last layers are "
            f"{', '.join(names[-8:])}."
        )
    features = source.get_layer(layer_name).output
    if len(features.shape) != 4:
        raise ValueError(
            f"gbm_transfer: layer {layer_name!r} outputs shape {features.shape}; the head needs "
            f"(B, H, W, F) feature maps."
        )
    x = keras.layers.Conv2D(head_filters, 1, activation="relu", name=HEAD_LAYERS[0])(features)
    x = keras.layers.Conv2D(num_classes, 1, name=HEAD_LAYERS[1])(x)
    outputs = keras.layers.Activation("softmax", dtype="float32", name=HEAD_LAYERS[2])(x)
    inputs = source.inputs[0] if len(source.inputs) == 1 else source.inputs
    return keras.Model(inputs, outputs, name=name)
