"""Freeze all of a transfer model except its head and the last N layers of the source.

What counts as a layer: a layer that holds weights (Conv2D, Conv2DTranspose,
BatchNormalization, ...), counted from the output end in ``model.layers`` order -- the
topological order Keras runs the graph in. Layers without weights (ReLU, Dropout,
Concatenate, padding) are not counted, so N always means N blocks of parameters. For
FC-DenseNet (GBM_WSSM) every dense layer is two of them, a BatchNormalization and a
Conv2D: N=10 unfreezes the last up block's 4 dense layers (8), its transition-up
Conv2DTranspose and the convolution of the dense layer before it; the source part of
the GBM_WSSM transfer model has 198 weighted layers (its classifier is not part of it).

Trainable parameters of the full-size GBM_WSSM transfer model (4 classes):

    ======  ==========  =============
    n       trainable   non-trainable
    ======  ==========  =============
    0           4,180      9,422,336
    10        241,076      9,185,440
    25        783,700      8,642,816
    50      2,168,116      7,258,400
    100     6,116,548      3,309,968
    "all"   9,323,444        103,072   (BN moving statistics)
    ======  ==========  =============

The head layers are always trainable, so ``n=0`` trains the head only (4,180 parameters
for 4 classes on 256 maps) and ``n="all"`` trains everything. Frozen BatchNormalization
layers run in inference mode (Keras 3 does so for any layer with ``trainable=False``),
so their moving statistics stay GBM_WSSM's. Compile the model again after freezing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import keras
import numpy as np

from lggseg.models.transfer import HEAD_LAYERS

log = logging.getLogger(__name__)


def _count(weights) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def parameter_counts(model: keras.Model) -> dict[str, int]:
    """``{"trainable": ..., "non_trainable": ...}`` parameter counts of ``model``."""
    return {"trainable": _count(model.trainable_weights), "non_trainable": _count(model.non_trainable_weights)}


def freeze_all_but_last(
    model: keras.Model,
    *,
    n: int | str = 0,
    head_layers: Sequence[str] = HEAD_LAYERS,
) -> dict[str, int]:
    """Makes the head and the last ``n`` weighted source layers trainable, freezes the rest.

    Args:
      model: a transfer model (:func:`~lggseg.models.gbm_transfer`) or any model.
      n: weighted layers to unfreeze before the head, counted from the output end (see
        the module docstring), or ``"all"``.
      head_layers: names of layers that are always trainable; ``()`` for a model without
        a head.

    Returns:
      ``{"trainable": ..., "non_trainable": ..., "unfrozen_layers": ...}``: parameter
      counts after freezing and the number of weighted source layers left trainable.

    Raises:
      ValueError: on a negative or non-integer ``n``, or a head layer the model lacks.
    """
    names = {layer.name for layer in model.layers}
    missing = [h for h in head_layers if h not in names]
    if missing:
        raise ValueError(
            f"freeze_all_but_last: model {model.name!r} has no head layer(s) {missing}; pass "
            f"head_layers= the names of its head (or () for none). Its last layers: "
            f"{', '.join(layer.name for layer in model.layers[-5:])}."
        )
    source = [layer for layer in model.layers if layer.weights and layer.name not in head_layers]
    if n == "all":
        count = len(source)
    elif isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0:
        count = min(int(n), len(source))
    else:
        raise ValueError(f"freeze_all_but_last: n must be an integer >= 0 or 'all', got {n!r}.")

    model.trainable = True  # a frozen model would hide every layer's own flag
    unfrozen = set(id(layer) for layer in source[len(source) - count:])
    for layer in model.layers:
        if layer.name in head_layers:
            layer.trainable = True
        elif layer.weights:
            layer.trainable = id(layer) in unfrozen
    counts = {**parameter_counts(model), "unfrozen_layers": count}
    log.info(
        "freeze_all_but_last(n=%s): %d of %d weighted source layers trainable; %s trainable, %s frozen parameters",
        n, count, len(source), f"{counts['trainable']:,}", f"{counts['non_trainable']:,}",
    )
    return counts
