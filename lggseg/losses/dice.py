"""Soft Dice loss on index masks."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from lggseg.losses._common import DEFAULT_CLASS_CODES, class_indices, valid_pixel_mean, valid_targets


@keras.saving.register_keras_serializable(package="lggseg")
class DiceLoss(keras.losses.Loss):
    """``1 - mean_c (2 sum(p g) + s) / (sum(p) + sum(g) + s)``, per image.

    The soft Dice of Milletari et al. with the linear denominator (as MONAI's ``DiceLoss``
    by default). It is computed per image and class, then averaged over the chosen classes;
    the smoothing term ``s`` makes a class absent from both the image and the prediction
    count as a perfect match instead of 0/0. Pixels whose target is not a class index
    (:data:`~lggseg.classes.IGNORE_INDEX`) are left out of the intersection and of both
    sums; an image without a labelled pixel scores 0 and is left out of the batch mean
    (the per-image values are scaled so that the default reduction averages over the
    images that have labelled pixels).

    Reference:
      Milletari, Navab, Ahmadi, "V-Net: Fully Convolutional Neural Networks for Volumetric
      Medical Image Segmentation", 3DV 2016.

    Args:
      smooth: the smoothing term ``s``.
      classes: classes (codes or indices) the mean runs over; None: all.
      from_logits: ``y_pred`` holds logits rather than softmax probabilities.
      class_codes: the model's output classes in index order; resolves ``classes`` by name.

    Shape:
      ``y_true`` ``(B, H, W)`` class indices; ``y_pred`` ``(B, H, W, C)``; loss per image ``(B,)``.
    """

    def __init__(
        self,
        *,
        smooth: float = 1.0,
        classes: Sequence[str | int] | None = None,
        from_logits: bool = False,
        class_codes: Sequence[str] = DEFAULT_CLASS_CODES,
        reduction: str = "sum_over_batch_size",
        name: str = "dice_loss",
        dtype: str | None = None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not float(smooth) >= 0.0:
            raise ValueError(f"DiceLoss: smooth must be >= 0, got {smooth!r}.")
        self.smooth = float(smooth)
        self.class_codes = tuple(class_codes)
        self.classes = class_indices(classes, class_codes=self.class_codes, what="DiceLoss classes")
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        labels, valid = valid_targets(y_true, y_pred)
        num_classes = int(y_pred.shape[-1])
        if self.classes is not None and max(self.classes) >= num_classes:
            raise ValueError(
                f"DiceLoss: classes {self.classes} for a prediction with only {num_classes} classes."
            )
        probs = ops.softmax(y_pred, axis=-1) if self.from_logits else y_pred
        valid = ops.expand_dims(ops.cast(valid, probs.dtype), -1)
        probs = probs * valid
        truth = ops.one_hot(labels, num_classes, dtype=probs.dtype) * valid
        axes = tuple(range(1, len(probs.shape) - 1))  # the spatial axes
        intersection = ops.sum(probs * truth, axis=axes)
        denominator = ops.sum(probs, axis=axes) + ops.sum(truth, axis=axes) + self.smooth
        # 0 / 0 (smooth = 0 on an image without labelled pixels) is a perfect match; the
        # divisor is made safe first so that neither branch of `where` has a NaN gradient.
        safe = ops.where(denominator > 0, denominator, ops.ones_like(denominator))
        dice = ops.where(denominator > 0, (2.0 * intersection + self.smooth) / safe, ops.ones_like(safe))  # (B, C)
        if self.classes is not None:
            dice = ops.take(dice, ops.convert_to_tensor(self.classes, "int32"), axis=-1)
        has_pixels = ops.cast(ops.sum(valid, axis=axes)[:, 0] > 0, dice.dtype)  # (B,)
        return valid_pixel_mean(1.0 - ops.mean(dice, axis=-1), has_pixels)

    def get_config(self):
        return {
            **super().get_config(),
            "smooth": self.smooth,
            "classes": self.classes,
            "from_logits": self.from_logits,
            "class_codes": list(self.class_codes),
        }
