"""Segmentation losses on index masks, in ``keras.ops`` for every backend.

Targets are index masks ``(B, H, W)``; predictions are softmax probabilities
``(B, H, W, C)`` (or logits with ``from_logits=True``). Every loss is a serialisable
``keras.losses.Loss`` registered under the ``lggseg`` package, so a model compiled with
one saves and loads.
"""

import gin

from lggseg.losses.cross_entropy import CrossEntropy
from lggseg.losses.dice import DiceLoss
from lggseg.losses.focal import FocalLoss
from lggseg.losses.focal_dice import FocalDice
from lggseg.losses.registry import LOSSES, make_loss

# Registration with gin happens here and nowhere else in the package.
gin.external_configurable(FocalLoss, name="focal_loss", module="lggseg.losses")
gin.external_configurable(CrossEntropy, name="cross_entropy", module="lggseg.losses")
gin.external_configurable(DiceLoss, name="dice_loss", module="lggseg.losses")
gin.external_configurable(FocalDice, name="focal_dice", module="lggseg.losses")
gin.external_configurable(make_loss, name="make_loss", module="lggseg.losses")

__all__ = ["CrossEntropy", "DiceLoss", "FocalDice", "FocalLoss", "LOSSES", "make_loss"]
