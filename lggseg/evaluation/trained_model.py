"""A trained model with what it needs at inference time: its stain normaliser and classes.

A run directory holds ``model.keras``, ``normalizer.json`` (the fitted stain normaliser),
``classes.tsv`` (the model's output classes) and ``resolution.json`` (the input scale and
microns per pixel it was trained at, :mod:`lggseg.data.resolution`). :func:`load_trained_model`
accepts the run directory or any ``.keras`` file; for a file, the side files are looked up in
the same folder (so ``RUN/phase_2.keras`` gets the run's normaliser, classes and resolution).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from lggseg.classes import ClassScheme, read_palette, scheme_for_num_classes
from lggseg.data.resolution import RESOLUTION_FILE, Resolution

__all__ = ["TrainedModel", "load_trained_model", "MODEL_FILE", "NORMALIZER_FILE", "CLASSES_FILE"]

MODEL_FILE = "model.keras"
NORMALIZER_FILE = "normalizer.json"
CLASSES_FILE = "classes.tsv"


@dataclasses.dataclass(frozen=True)
class TrainedModel:
    """A loaded model and its inference-time companions.

    Attributes:
      model: the Keras model (softmax output).
      scheme: its output classes (``classes.tsv``, else inferred from the output size).
      normalizer: the fitted stain normaliser, or ``None`` when the run used none.
      model_path: the ``.keras`` file.
      notes: how the companions were found, for the user.
      resolution: the input resolution the model was trained at (``resolution.json``); scale
        1.0 and mpp unknown when the folder has none (a bare ``.keras`` file, older runs).
    """

    model: Any
    scheme: ClassScheme
    normalizer: Any
    model_path: Path
    notes: tuple[str, ...] = ()
    resolution: Resolution = Resolution()

    @property
    def folder(self) -> Path:
        """The folder holding the model (the run directory for a run's models)."""
        return self.model_path.parent


def load_trained_model(path: str | Path) -> TrainedModel:
    """Load a run directory or a ``.keras`` file with its normaliser and classes.

    Raises:
      FileNotFoundError: naming the path, when it (or a run directory's model.keras) is missing.
      ValueError: naming the file, when the model cannot be loaded or its output size
        matches no known scheme and there is no classes.tsv.
    """
    path = Path(path)
    if path.is_dir():
        model_path = path / MODEL_FILE
        if not model_path.is_file():
            found = sorted(p.name for p in path.glob("*.keras"))
            hint = f" It holds {', '.join(found)}; pass one of them." if found else ""
            raise FileNotFoundError(f"{path} is a folder without {MODEL_FILE} (not a finished run).{hint}")
    elif path.is_file():
        model_path = path
    else:
        raise FileNotFoundError(f"{path} does not exist; pass a run directory or a .keras model file.")
    if model_path.suffix != ".keras":
        raise ValueError(
            f"{model_path} is not a .keras model file; weights files hold no architecture (build the model "
            f"and load the weights in Python)."
        )
    import keras

    import lggseg.models  # noqa: F401  registers lggseg's custom layers for load_model

    try:
        model = keras.saving.load_model(model_path, compile=False)
    except (ValueError, TypeError, OSError) as err:
        raise ValueError(f"Cannot load the model {model_path}: {err}") from err

    notes = [f"model {model_path}"]
    folder = model_path.parent
    num_outputs = int(model.output_shape[-1])
    classes_path = folder / CLASSES_FILE
    if classes_path.is_file():
        scheme = read_palette(classes_path)
        notes.append(f"classes from {classes_path}: {', '.join(scheme.codes)}")
        if scheme.num_classes != num_outputs:
            raise ValueError(
                f"{classes_path} lists {scheme.num_classes} classes but {model_path} outputs {num_outputs}."
            )
    else:
        try:
            scheme = scheme_for_num_classes(num_outputs)
        except ValueError:
            raise ValueError(
                f"{model_path} outputs {num_outputs} classes and there is no {classes_path}; write one "
                f"(lggseg.classes.write_palette) to name them."
            ) from None
        notes.append(f"no {CLASSES_FILE} beside the model: {num_outputs} outputs read as {', '.join(scheme.codes)}")

    normalizer = None
    normalizer_path = folder / NORMALIZER_FILE
    if normalizer_path.is_file():
        from lggseg.stain import load_normalizer

        normalizer = load_normalizer(normalizer_path)
        notes.append(f"stain normaliser {normalizer.method} from {normalizer_path}")
    else:
        notes.append(f"no {NORMALIZER_FILE} beside the model: images are not stain-normalised")
    resolution = Resolution.read(folder)
    if resolution is None:
        resolution = Resolution()
        notes.append(f"no {RESOLUTION_FILE} beside the model: images are predicted at their own size")
    else:
        notes.append(f"trained at {resolution.describe()} ({folder / RESOLUTION_FILE})")
    return TrainedModel(model=model, scheme=scheme, normalizer=normalizer, model_path=model_path, notes=tuple(notes),
                        resolution=resolution)
