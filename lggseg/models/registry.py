"""Model builders by name: ``build_model("fc_densenet", options={"num_classes": 4})``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import keras

from lggseg.models.fc_densenet import fc_densenet, scratch_fc_densenet
from lggseg.models.sm_baselines import sm_fpn, sm_linknet, sm_pspnet, sm_unet
from lggseg.models.transfer import gbm_transfer

MODEL_BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "fc_densenet": fc_densenet,
    "scratch_fc_densenet": scratch_fc_densenet,
    "gbm_transfer": gbm_transfer,
    "sm_unet": sm_unet,
    "sm_fpn": sm_fpn,
    "sm_linknet": sm_linknet,
    "sm_pspnet": sm_pspnet,
}


def build_model(name: str, *, options: Mapping[str, Any] | None = None) -> keras.Model:
    """Builds the model registered as ``name`` with keyword ``options``.

    Raises:
      ValueError: naming an unknown model (listing the valid names) or an option the
        builder does not take (listing its arguments).
    """
    if name not in MODEL_BUILDERS:
        raise ValueError(f"Unknown model {name!r}; valid models: {', '.join(sorted(MODEL_BUILDERS))}.")
    builder = MODEL_BUILDERS[name]
    options = dict(options or {})
    valid = list(inspect.signature(builder).parameters)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"Model {name!r} takes no option(s) {unknown}; valid options: {', '.join(valid)}.")
    return builder(**options)
