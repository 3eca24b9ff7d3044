"""Segmentation losses on index masks, in ``keras.ops`` for every backend.

Targets are index masks ``(B, H, W)``; predictions are softmax probabilities
``(B, H, W, C)`` (or logits with ``from_logits=True``). Every loss is a serialisable
``keras.losses.Loss`` registered under the ``lggseg`` package, so a model compiled with
one saves and loads.

gin names (module ``lggseg.losses``), also the names :func:`make_loss` takes:
``focal_loss``, ``cross_entropy``, ``dice_loss``, ``focal_dice``; and ``make_loss``.
"""

from lggseg.losses.cross_entropy import CrossEntropy
from lggseg.losses.dice import DiceLoss
from lggseg.losses.focal import FocalLoss
from lggseg.losses.focal_dice import FocalDice
from lggseg.losses.registry import LOSSES, make_loss
from lggseg.registry import register

# One place registers everything with gin; the losses are also chosen by name (make_loss).
LOSSES.register("focal_loss", FocalLoss)
LOSSES.register("cross_entropy", CrossEntropy)
LOSSES.register("dice_loss", DiceLoss)
LOSSES.register("focal_dice", FocalDice)
register("make_loss", make_loss, module="lggseg.losses")

__all__ = ["CrossEntropy", "DiceLoss", "FocalDice", "FocalLoss", "LOSSES", "make_loss"]
