"""Stain normalisers by name: build one, or load a fitted one saved with a run.

:data:`NORMALIZERS` maps the method names (``normalizer.json``'s ``method``, ``lggseg
normalize --method``) to the classes; it is filled, and each class registered with gin, in
the package's ``__init__``, the one place :mod:`lggseg.stain` registers anything.
"""

from __future__ import annotations

import json
from pathlib import Path

from lggseg.registry import Registry
from lggseg.stain.base import StainNormalizer

NORMALIZERS = Registry(kind="stain normalisation method", plural="methods", module="lggseg.stain")


def make_normalizer(method: str = "macenko", *, reference: str | Path | None = None) -> StainNormalizer:
    """A stain normaliser by registry name, unfitted, or fitted on a reference image file.

    Method parameters are the class defaults; build the class itself (or, in gin,
    ``@macenko()`` with ``macenko.beta = ...``) to set them.

    Args:
      method: one of ``macenko``, ``staintools-macenko``, ``staintools-vahadane``,
        ``reinhard``, ``none``.
      reference: an image file to fit on; its path becomes ``reference_name``.

    Raises:
      ValueError: for an unknown method (listing the valid ones) or an unusable reference.
      FileNotFoundError: when ``reference`` does not exist.
    """
    normalizer = NORMALIZERS.lookup(method)()
    if reference is not None:
        from lggseg.data.io import read_image

        try:
            normalizer.fit(read_image(reference))
        except ValueError as err:
            raise ValueError(f"{reference}: {err}") from err
        normalizer.reference_name = str(reference)
    return normalizer


def load_normalizer(path: str | Path) -> StainNormalizer:
    """Load a normaliser written by :meth:`StainNormalizer.save` (fitted parameters included).

    Raises:
      FileNotFoundError: when ``path`` does not exist.
      ValueError: naming the file, when it is not a saved normaliser or names an unknown method.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such stain normaliser file (runs save it as normalizer.json).")
    try:
        record = json.loads(path.read_text())
        method, config = record["method"], record["config"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a saved stain normaliser ({type(err).__name__}: {err}).") from err
    cls = NORMALIZERS.lookup(method, where=f"{path}: ")
    try:
        normalizer = cls.from_config(config)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: cannot restore the {method} normaliser: {err}") from err
    normalizer.reference_name = str(record.get("reference", ""))
    return normalizer
