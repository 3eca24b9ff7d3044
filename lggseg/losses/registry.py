"""Losses by name, for command lines and configs that name a loss by string.

:data:`LOSSES` is filled (and each loss registered with gin) in the package's ``__init__``,
the one place :mod:`lggseg.losses` registers anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from lggseg.registry import Registry

LOSSES = Registry(kind="loss", plural="losses", module="lggseg.losses")


def make_loss(name: str, *, options: Mapping[str, Any] | None = None) -> keras.losses.Loss:
    """Build the loss called ``name`` with keyword ``options``.

    Raises:
      ValueError: listing the valid names for an unknown ``name``, or the valid arguments
        for an unknown option.
    """
    return LOSSES.build(name, options=options)
