"""Freeze all of a transfer model except its head and the last N layers of the source.

What counts as a layer, in ``model.layers`` order (the topological order Keras runs the
graph in), from the output end, is the ``count`` argument:

* ``count="layers"``: every layer, as the method's own code counted
  (``for layer in model.layers[-N:]: layer.trainable = True``): BatchNormalization, ReLU,
  Dropout, Concatenate, padding and the head's layers are each one. The method's configs
  (``gin/le_focus.gin`` and those built on it) count this way.
* ``count="weighted"`` (the default of :func:`freeze_all_but_last` and
  :class:`~lggseg.training.Phase`): only layers that hold weights (Conv2D,
  Conv2DTranspose, BatchNormalization, ...), the head not counted, so N always means N
  blocks of parameters.

The two readings differ by 5-6x on GBM_WSSM; ``docs/unfreezing.md`` has both, generated
by ``benchmarks/unfreeze_counts.py``. In the weighted count, every dense layer of
FC-DenseNet (GBM_WSSM) is two layers, a BatchNormalization and a
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

(with ``count="layers"``, n = 10, 25, 50 train 39,236, 130,388 and 433,428).

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

# What "the last N layers" counts (see the module docstring).
COUNTS = ("weighted", "layers")


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
    count: str = "weighted",
) -> dict[str, int]:
    """Makes the head and the last ``n`` layers trainable, freezes the rest.

    Args:
      model: a transfer model (:func:`~lggseg.models.gbm_transfer`) or any model.
      n: layers to unfreeze, counted from the output end, or ``"all"``.
      head_layers: names of layers that are always trainable; ``()`` for a model without
        a head.
      count: ``"weighted"``: ``n`` weighted source layers before the head; ``"layers"``:
        the Keras slice ``model.layers[-n:]``, every layer counted, the head's among them
        (the method's reading; see the module docstring).

    Returns:
      ``{"trainable": ..., "non_trainable": ..., "unfrozen_layers": ...}``: parameter
      counts after freezing and the number of layers, as ``count`` counts them, unfrozen.

    Raises:
      ValueError: on a negative or non-integer ``n``, an unknown ``count``, or a head layer
        the model lacks.
    """
    if count not in COUNTS:
        raise ValueError(f"freeze_all_but_last: unknown count {count!r}; valid: {', '.join(COUNTS)}.")
    names = {layer.name for layer in model.layers}
    missing = [h for h in head_layers if h not in names]
    if missing:
        raise ValueError(
            f"freeze_all_but_last: model {model.name!r} has no head layer(s) {missing}; pass "
            f"head_layers= the names of its head (or () for none). Its last layers: "
            f"{', '.join(layer.name for layer in model.layers[-5:])}."
        )
    if count == "weighted":
        counted = [layer for layer in model.layers if layer.weights and layer.name not in head_layers]
    else:
        counted = list(model.layers)
    if n == "all":
        k = len(counted)
    elif isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0:
        k = min(int(n), len(counted))
    else:
        raise ValueError(f"freeze_all_but_last: n must be an integer >= 0 or 'all', got {n!r}.")

    model.trainable = True  # a frozen model would hide every layer's own flag
    unfrozen = set(id(layer) for layer in counted[len(counted) - k:])
    for layer in model.layers:
        if layer.name in head_layers:
            layer.trainable = True
        elif layer.weights:
            layer.trainable = id(layer) in unfrozen
    counts = {**parameter_counts(model), "unfrozen_layers": k}
    what = "weighted source layers" if count == "weighted" else "layers (Keras slice)"
    log.info(
        "freeze_all_but_last(n=%s): the last %d of %d %s trainable; %s trainable, %s frozen parameters",
        n, k, len(counted), what, f"{counts['trainable']:,}", f"{counts['non_trainable']:,}",
    )
    return counts
