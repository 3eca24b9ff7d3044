"""Model builders by name: ``build_model("fc_densenet", options={"num_classes": 4})``.

:data:`MODEL_BUILDERS` is filled (and each builder registered with gin) in the package's
``__init__``, the one place :mod:`lggseg.models` registers anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from lggseg.registry import Registry

MODEL_BUILDERS = Registry(kind="model", plural="models", module="lggseg.models")


def build_model(name: str, *, options: Mapping[str, Any] | None = None) -> keras.Model:
    """Builds the model registered as ``name`` with keyword ``options``.

    Raises:
      ValueError: naming an unknown model (listing the valid names) or an option the
        builder does not take (listing its arguments).
    """
    return MODEL_BUILDERS.build(name, options=options)
