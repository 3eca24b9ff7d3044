"""Focal loss on index masks (Keras' categorical focal cross-entropy, per pixel)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
from keras import ops

from lggseg.losses._common import (
    DEFAULT_CLASS_CODES,
    check_num_classes,
    per_class_values,
    valid_pixel_mean,
    valid_targets,
)


@keras.saving.register_keras_serializable(package="lggseg")
class FocalLoss(keras.losses.Loss):
    """Focal loss ``-alpha_t (1 - p_t)^gamma log p_t`` per pixel, averaged.

    The index mask is one-hot encoded and handed to Keras' own
    ``keras.losses.categorical_focal_crossentropy``, which accepts a scalar ``alpha`` or
    one value per class, so no part of the formula is re-implemented here. Pixels whose
    target is not a class index (:data:`~lggseg.classes.IGNORE_INDEX`) contribute nothing;
    the values returned per pixel are scaled so that the default reduction gives the mean
    over the batch's labelled pixels (see :func:`~lggseg.losses._common.valid_pixel_mean`).

    Reference:
      Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.

    Args:
      gamma: focusing parameter; 0 gives (alpha-weighted) cross-entropy.
      alpha: balancing weight: one number for all classes (0.25 as in the paper and the
        LE-focused experiment), a list with one value per class, or ``{code: value}``
        (classes not named get 0.25).
      from_logits: ``y_pred`` holds logits rather than softmax probabilities.
      class_codes: the model's output classes in index order; resolves ``alpha`` by name.

    Shape:
      ``y_true`` ``(B, H, W)`` class indices; ``y_pred`` ``(B, H, W, C)``.
    """

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | Mapping[str, float] = 0.25,
        from_logits: bool = False,
        class_codes: Sequence[str] = DEFAULT_CLASS_CODES,
        reduction: str = "sum_over_batch_size",
        name: str = "focal_loss",
        dtype: str | None = None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.gamma = float(gamma)
        self.class_codes = tuple(class_codes)
        self.alpha = per_class_values(alpha, class_codes=self.class_codes, default=0.25, what="FocalLoss alpha")
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        labels, valid = valid_targets(y_true, y_pred)
        num_classes = int(y_pred.shape[-1])
        check_num_classes(self.alpha, num_classes, "FocalLoss alpha")
        alpha = self.alpha if isinstance(self.alpha, float) else ops.convert_to_tensor(self.alpha, y_pred.dtype)
        loss = keras.losses.categorical_focal_crossentropy(
            ops.one_hot(labels, num_classes, dtype=y_pred.dtype),
            y_pred,
            alpha=alpha,
            gamma=self.gamma,
            from_logits=self.from_logits,
        )
        return valid_pixel_mean(loss, valid)

    def get_config(self):
        return {
            **super().get_config(),
            "gamma": self.gamma,
            "alpha": self.alpha,
            "from_logits": self.from_logits,
            "class_codes": list(self.class_codes),
        }
