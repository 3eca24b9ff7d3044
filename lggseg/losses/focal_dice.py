"""Focal loss plus soft Dice loss, weighted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
from keras import ops

from lggseg.losses._common import DEFAULT_CLASS_CODES
from lggseg.losses.dice import DiceLoss
from lggseg.losses.focal import FocalLoss


@keras.saving.register_keras_serializable(package="lggseg")
class FocalDice(keras.losses.Loss):
    """``focal_weight * focal + dice_weight * dice``: a pixel-wise and a region-wise term.

    Focal loss pushes every hard pixel; Dice scores each class's overlap as a whole, so a
    rare class weighs as much as a common one. The focal term is averaged over each
    image's pixels so that both terms are per image before the batch mean. Unlabelled
    pixels (:data:`~lggseg.classes.IGNORE_INDEX`) count in neither term: the focal term's
    batch mean is the mean over the batch's labelled pixels, as in
    :class:`~lggseg.losses.focal.FocalLoss`, and the Dice term's that over the images
    holding labelled pixels.

    References:
      Lin et al., ICCV 2017 (focal); Milletari et al., 3DV 2016 (Dice); the combination as
      in Zhu et al., "AnatomyNet", Medical Physics 2019.

    Args:
      focal_weight, dice_weight: weights of the two terms.
      gamma, alpha: focal loss parameters (see :class:`~lggseg.losses.focal.FocalLoss`).
      smooth, dice_classes: Dice parameters (see :class:`~lggseg.losses.dice.DiceLoss`).
      from_logits: ``y_pred`` holds logits rather than softmax probabilities.
      class_codes: the model's output classes in index order.
    """

    def __init__(
        self,
        *,
        focal_weight: float = 1.0,
        dice_weight: float = 1.0,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | Mapping[str, float] = 0.25,
        smooth: float = 1.0,
        dice_classes: Sequence[str | int] | None = None,
        from_logits: bool = False,
        class_codes: Sequence[str] = DEFAULT_CLASS_CODES,
        reduction: str = "sum_over_batch_size",
        name: str = "focal_dice",
        dtype: str | None = None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.focal_weight = float(focal_weight)
        self.dice_weight = float(dice_weight)
        self.focal = FocalLoss(gamma=gamma, alpha=alpha, from_logits=from_logits, class_codes=class_codes, dtype=dtype)
        self.dice = DiceLoss(
            smooth=smooth, classes=dice_classes, from_logits=from_logits, class_codes=class_codes, dtype=dtype
        )

    def call(self, y_true, y_pred):
        focal = self.focal.call(y_true, y_pred)  # (B, H, W)
        focal = ops.mean(ops.reshape(focal, (ops.shape(focal)[0], -1)), axis=-1)
        return self.focal_weight * focal + self.dice_weight * self.dice.call(y_true, y_pred)

    def get_config(self):
        return {
            **super().get_config(),
            "focal_weight": self.focal_weight,
            "dice_weight": self.dice_weight,
            "gamma": self.focal.gamma,
            "alpha": self.focal.alpha,
            "smooth": self.dice.smooth,
            "dice_classes": self.dice.classes,
            "from_logits": self.focal.from_logits,
            "class_codes": list(self.focal.class_codes),
        }
