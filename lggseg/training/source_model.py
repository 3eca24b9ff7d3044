"""The GBM source model for transfer: GBM_WSSM weights, or a pretrained and cached stand-in.

:func:`gbm_source` returns the 8-class FC-DenseNet that :func:`lggseg.models.gbm_transfer`
puts a head on. With ``weights`` it loads them (the original Keras 2 ``GBM_WSSM.h5``, or
an lggseg ``.keras`` / ``.weights.h5``). Without, it pretrains the same architecture on
8-class GBM data — by default lggseg's synthetic "GBM lab" H&E — and caches the result
(``$LGGSEG_CACHE``, default ``~/.cache/lggseg``), so the main command runs anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from lggseg.data.source import DataSource
from lggseg.training.trainer import _say


def cache_dir() -> Path:
    """``$LGGSEG_CACHE`` or ``~/.cache/lggseg``."""
    return Path(os.environ.get("LGGSEG_CACHE", Path.home() / ".cache" / "lggseg"))


def synthetic_reference(*, stain: str = "gbm", size: int = 512, seed: int = 20091) -> np.ndarray:
    """A synthetic H&E image in a lab's stain, used as the Macenko reference.

    Transfer works best when the target images are normalised to the stain the source
    model was trained on, so the synthetic GBM source and the synthetic LGG runs share
    this reference (the synthetic "GBM lab").
    """
    from lggseg.data.synthetic import SyntheticSource

    return SyntheticSource(count=1, size=size, num_classes=4, seed=seed, stain=stain)[0].image


def gbm_source(
    *,
    weights: str | None = None,
    architecture: Callable[..., keras.Model] | None = None,
    pretrain_data: DataSource | None = None,
    pretrain_reference: str | np.ndarray | None = None,
    pretrain_images: int = 48,
    pretrain_image_size: int = 256,
    pretrain_tile_size: int = 256,
    pretrain_epochs: int = 4,
    pretrain_steps_per_epoch: int = 25,
    pretrain_batch_size: int = 8,
    pretrain_learning_rate: float = 1e-3,
    seed: int = 0,
) -> keras.Model:
    """The 8-class GBM source model.

    Args:
      weights: a GBM_WSSM ``.h5`` (Keras 2 ``save_weights``), or an lggseg ``.keras`` /
        ``.weights.h5``. ``None`` pretrains (or reuses the cached) source model.
      architecture: the builder of the 8-class network (default
        :func:`lggseg.models.fc_densenet`; in gin ``@fc_densenet`` so its bindings apply).
      pretrain_data: 8-class data to pretrain on (default: ``pretrain_images`` synthetic
        GBM-stained images of ``pretrain_image_size`` pixels).
      pretrain_reference: the Macenko reference for pretraining (default
        :func:`synthetic_reference`).
      pretrain_*: the pretraining budget: ``pretrain_epochs`` x ``pretrain_steps_per_epoch``
        steps of ``pretrain_batch_size`` tiles of ``pretrain_tile_size`` pixels.
      seed: seeds the synthetic data and the training.
    """
    from lggseg.models import fc_densenet, load_model

    architecture = architecture or fc_densenet
    if weights is not None:
        return _load_weights(weights, architecture)

    model = architecture(num_classes=8)
    data = pretrain_data
    if data is None:
        from lggseg.data.synthetic import SyntheticSource

        data = SyntheticSource(
            count=pretrain_images, size=pretrain_image_size, num_classes=8, seed=seed, stain="gbm"
        )
    if data.scheme.num_classes != 8:
        raise ValueError(
            f"gbm_source.pretrain_data must have the 8 IvyGAP classes, got {data.scheme.codes}."
        )
    settings = {
        "model": model.to_json(),
        "data": [data.names, data.class_histograms().sum(axis=0).tolist()],
        "reference": _describe_reference(pretrain_reference),
        "budget": [pretrain_tile_size, pretrain_epochs, pretrain_steps_per_epoch, pretrain_batch_size,
                   pretrain_learning_rate, seed],
    }
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    run_dir = cache_dir() / f"gbm_source-{key}"
    final = run_dir / "model.keras"
    if final.is_file():
        _say(f"GBM source: using the cached pretrained source model {final}")
        return load_model(final)

    _say(
        "GBM source: no GBM weights named (gbm_source.weights), so lggseg pretrains an 8-class "
        f"FC-DenseNet on {len(data)} GBM images and caches it in {run_dir} "
        f"({pretrain_epochs} x {pretrain_steps_per_epoch} steps)."
    )
    from lggseg.losses import CrossEntropy
    from lggseg.stain import make_normalizer
    from lggseg.training.samplers import UniformSampler
    from lggseg.training.schedule import Phase
    from lggseg.training.trainer import train  # noqa: I001  (the trainer writes the run directory)

    train(
        data=data,
        model=lambda: model,
        run_dir=run_dir,
        phases=[Phase(layers_to_unfreeze="all", learning_rate=pretrain_learning_rate, epochs=pretrain_epochs)],
        loss=CrossEntropy(),
        sampler=UniformSampler(),
        normalizer=make_normalizer("macenko"),
        reference=pretrain_reference if pretrain_reference is not None else synthetic_reference(),
        val_fraction=0.15,
        tile_size=pretrain_tile_size,
        batch_size=pretrain_batch_size,
        steps_per_epoch=pretrain_steps_per_epoch,
        seed=seed,
    )
    return load_model(final)


def _load_weights(weights: str, architecture: Callable[..., keras.Model]) -> keras.Model:
    from lggseg.models import load_gbm_wssm_weights, load_model

    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(
            f"gbm_source.weights = {weights!r} does not exist; name GBM_WSSM.h5 or an lggseg "
            f".keras file, or leave it unset to pretrain a source model."
        )
    if path.name.endswith(".keras"):
        return load_model(path)
    model = architecture(num_classes=8)
    if path.name.endswith(".weights.h5"):
        model.load_weights(path)
    else:
        load_gbm_wssm_weights(model, path)
    return model


def _describe_reference(reference) -> str:
    if reference is None:
        return "synthetic"
    if isinstance(reference, np.ndarray):
        return hashlib.sha256(reference.tobytes()).hexdigest()[:12]
    return str(reference)
