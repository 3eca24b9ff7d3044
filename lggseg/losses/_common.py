"""Helpers shared by the losses: index targets, unlabelled pixels, per-class parameters."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

from lggseg.classes import LGG_4

# The model's output classes unless a loss is told otherwise.
DEFAULT_CLASS_CODES: tuple[str, ...] = LGG_4.codes


def per_class_values(
    values: float | Sequence[float] | Mapping[str, float],
    *,
    class_codes: Sequence[str],
    default: float,
    what: str,
) -> float | list[float]:
    """A scalar stays a scalar; a list is checked; a ``{code: value}`` dict becomes a list.

    Classes a dict does not name get ``default``.
    """
    if isinstance(values, numbers.Real) and not isinstance(values, bool):
        return float(values)
    codes = list(class_codes)
    if isinstance(values, Mapping):
        lowered = [c.lower() for c in codes]
        out = [float(default)] * len(codes)
        for code, value in values.items():
            if not isinstance(code, str) or code.lower() not in lowered:
                raise ValueError(f"{what}: unknown class {code!r}; valid classes: {', '.join(codes)}.")
            out[lowered.index(code.lower())] = float(value)
        return out
    out = [float(v) for v in values]
    if len(out) != len(codes):
        raise ValueError(
            f"{what}: got {len(out)} values {out}, but there are {len(codes)} classes "
            f"({', '.join(codes)}); give one value per class, or a {{code: value}} dict."
        )
    return out


def class_indices(
    classes: Sequence[str | int] | None,
    *,
    class_codes: Sequence[str],
    what: str,
) -> list[int] | None:
    """Class codes or indices -> indices into ``class_codes`` (None stays None: all classes)."""
    if classes is None:
        return None
    if isinstance(classes, (str, int)):
        classes = [classes]
    codes = list(class_codes)
    lowered = [c.lower() for c in codes]
    out = []
    for c in classes:
        if isinstance(c, str) and c.lower() in lowered:
            out.append(lowered.index(c.lower()))
        elif isinstance(c, numbers.Integral) and not isinstance(c, bool) and 0 <= int(c) < len(codes):
            out.append(int(c))
        else:
            raise ValueError(
                f"{what}: unknown class {c!r}; valid: {', '.join(codes)} or indices 0..{len(codes) - 1}."
            )
    if not out:
        raise ValueError(f"{what}: the class list is empty; give None for all classes.")
    return out


def check_num_classes(values: float | list[float], num_classes: int, what: str) -> None:
    """Per-class values must match the model's number of output classes."""
    if isinstance(values, list) and len(values) != num_classes:
        raise ValueError(
            f"{what}: {len(values)} per-class values {values} for a prediction with "
            f"{num_classes} classes; give one value per output class."
        )


def index_targets(y_true, y_pred):
    """Index masks ``(B, H, W)`` (or ``(B, H, W, 1)``) -> int32 labels of rank ``rank(y_pred) - 1``."""
    from keras import ops

    labels = ops.cast(y_true, "int32")
    if len(labels.shape) == len(y_pred.shape) and labels.shape[-1] == 1:
        labels = ops.squeeze(labels, axis=-1)
    if len(labels.shape) != len(y_pred.shape) - 1:
        raise ValueError(
            f"Losses take index masks (B, H, W) as targets and probabilities (B, H, W, C) as "
            f"predictions; got targets of shape {tuple(labels.shape)} and predictions of shape "
            f"{tuple(y_pred.shape)}."
        )
    return labels


def valid_targets(y_true, y_pred):
    """Index targets -> ``(labels, valid)``: labels with unlabelled pixels set to class 0, and a float mask.

    A target outside ``[0, C)`` (:data:`~lggseg.classes.IGNORE_INDEX`, 255) is unlabelled.
    Its label is replaced by 0 so that ``one_hot`` and ``take`` see a real class index
    (``one_hot(255)`` is all zeros on one backend and an error on another); the caller
    multiplies the pixel's loss by ``valid`` = 0, so class 0 never counts.

    Returns:
      ``labels`` int32 of rank ``rank(y_pred) - 1`` and ``valid`` of the same shape in
      ``y_pred``'s dtype (1 = labelled pixel).
    """
    from keras import ops

    labels = index_targets(y_true, y_pred)
    is_valid = ops.logical_and(labels >= 0, labels < int(y_pred.shape[-1]))
    return ops.where(is_valid, labels, ops.zeros_like(labels)), ops.cast(is_valid, y_pred.dtype)


def valid_pixel_mean(per_pixel, valid):
    """Per-pixel losses -> values whose plain mean is the mean over the valid pixels of the batch.

    Keras' default reduction (``sum_over_batch_size``) divides the sum by the number of
    elements, ignored pixels included. Scaling every value by ``total / valid_count``
    turns that into ``sum(loss * valid) / valid_count``, the same correction Keras applies
    to losses of masked outputs. A batch without a valid pixel gives 0 (not 0 / 0) and a
    zero, finite gradient.
    """
    from keras import ops

    valid = ops.cast(valid, per_pixel.dtype)
    total = ops.sum(ops.ones_like(valid))
    count = ops.sum(valid)
    return per_pixel * valid * (total / ops.maximum(count, 1.0))
