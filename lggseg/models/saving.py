"""Load lggseg models and weights from any of the three file formats.

* ``.keras`` (Keras 3 archive: architecture + weights) -- what lggseg writes
  (``model.keras``, ``phase_<K>.keras``);
* ``.weights.h5`` (Keras 3 weights only);
* ``.h5`` (Keras 2 / tf-keras HDF5 weights, e.g. the original GBM_WSSM.h5), read by
  :func:`~lggseg.models.legacy_h5.load_gbm_wssm_weights`.

lggseg's custom layers are registered with Keras when ``lggseg.models`` is imported, so
``keras.saving.load_model`` works too once it is; :func:`load_model` just makes sure.
"""

from __future__ import annotations

from pathlib import Path

import keras

from lggseg.models.legacy_h5 import load_gbm_wssm_weights

WEIGHT_SUFFIXES = (".keras", ".weights.h5", ".h5")


def load_model(path: str | Path, *, compile: bool = False) -> keras.Model:
    """Loads a ``.keras`` model saved by lggseg (or any Keras 3 model using its layers).

    Args:
      path: the ``.keras`` file.
      compile: also restore the optimizer, loss and metrics (their classes must be
        registered); lggseg's trainer compiles models itself, hence the default.

    Raises:
      FileNotFoundError: naming ``path``.
      ValueError: naming ``path`` when it is not a ``.keras`` file (weights files hold no
        architecture: build the model, then call :func:`load_weights`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model file {path} does not exist.")
    if path.suffix != ".keras":
        raise ValueError(
            f"{path} is not a '.keras' model file; weights files ('.weights.h5', Keras 2 '.h5') hold "
            f"no architecture: build the model (e.g. lggseg.models.fc_densenet()) and call "
            f"lggseg.models.load_weights(model, path)."
        )
    import zipfile

    import lggseg.models  # noqa: F401  (registers lggseg's custom layers)

    # Keras answers "File not found" for a file that exists but is truncated.
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path} is damaged: it exists ({path.stat().st_size:,} bytes) but is not a complete .keras "
            f"archive (truncated by a kill or a full disk, or not a Keras 3 model); replace it with a "
            f"complete copy."
        )
    return keras.saving.load_model(path, compile=compile)


def load_weights(model: keras.Model, path: str | Path) -> keras.Model:
    """Loads weights into ``model`` from a ``.keras``, ``.weights.h5`` or Keras 2 ``.h5`` file.

    Returns:
      ``model``, for chaining.

    Raises:
      FileNotFoundError: naming ``path``.
      ValueError: naming ``path`` and the valid suffixes, or the architecture mismatch.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Weights file {path} does not exist.")
    name = path.name
    if name.endswith(".keras") or name.endswith(".weights.h5"):
        model.load_weights(path)
    elif name.endswith(".h5"):
        load_gbm_wssm_weights(model, path)
    else:
        raise ValueError(f"{path}: unknown weights format; valid suffixes: {', '.join(WEIGHT_SUFFIXES)}.")
    return model
