"""Loss name -> class map, for command lines and configs that name a loss by string."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import keras

from lggseg.losses.cross_entropy import CrossEntropy
from lggseg.losses.dice import DiceLoss
from lggseg.losses.focal import FocalLoss
from lggseg.losses.focal_dice import FocalDice

LOSSES: dict[str, type[keras.losses.Loss]] = {
    "focal_loss": FocalLoss,
    "cross_entropy": CrossEntropy,
    "dice_loss": DiceLoss,
    "focal_dice": FocalDice,
}


def make_loss(name: str, *, options: Mapping[str, Any] | None = None) -> keras.losses.Loss:
    """Build the loss called ``name`` with keyword ``options``.

    Raises:
      ValueError: listing the valid names for an unknown ``name``, or the valid arguments
        for an unknown option.
    """
    if name not in LOSSES:
        raise ValueError(f"Unknown loss {name!r}; valid: {', '.join(LOSSES)}.")
    cls = LOSSES[name]
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(options or {}) - set(valid))
    if unknown:
        raise ValueError(f"Loss {name!r} has no argument(s) {unknown}; valid: {', '.join(valid)}.")
    return cls(**dict(options or {}))
