"""The trainer's default components: the gin configurables, so that their bindings apply.

A plain default (``dataset=TileDataset``) would ignore ``tile_dataset.shuffle = False``:
gin applies bindings only when the component is called through its configurable. So the
trainer's defaults are looked up here, by the names they are registered under.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gin

# Trainer argument default -> the gin name (module-qualified) of the component it builds.
DEFAULTS = {
    "tile_dataset": "lggseg.training.tile_dataset",
    "SlidingWindowPredictor": "lggseg.evaluation.SlidingWindowPredictor",
    "evaluate": "lggseg.evaluation.evaluate",
    "split_by_group": "lggseg.data.split_by_group",
}


def configured(name: str) -> Callable[..., Any]:
    """The gin-configured component registered as ``name`` (one of :data:`DEFAULTS`).

    Raises:
      ValueError: for a name that is not a trainer default, listing the valid ones.
    """
    if name not in DEFAULTS:
        raise ValueError(f"Unknown trainer component {name!r}; valid: {', '.join(DEFAULTS)}.")
    import lggseg.data  # noqa: F401  (each package registers its components on import)
    import lggseg.evaluation  # noqa: F401
    import lggseg.training  # noqa: F401

    return gin.get_configurable(DEFAULTS[name])
