"""The GBM source model for transfer: GBM_WSSM weights, or a pretrained and cached stand-in.

:func:`gbm_source` returns the 8-class FC-DenseNet that :func:`lggseg.models.gbm_transfer`
puts a head on. It only *loads*: with ``weights`` the original Keras 2 ``GBM_WSSM.h5`` (or
an lggseg ``.keras`` / ``.weights.h5``); without, the source that its
:class:`SourcePretraining` stage trained and cached (``$LGGSEG_CACHE``, default
``~/.cache/lggseg``). When that cache is empty it raises :class:`SourceNotPretrained`,
which carries the stage; :func:`lggseg.training.train_with_source` (what ``lggseg train``
runs) catches it, runs the stage visibly in its own run directory with its own seed and
config record, and starts the experiment afresh. The experiment's seed, gin config and run
directory are never touched by the stage.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lggseg.atomic_write import atomic_write
from lggseg.data.source import DataSource
from lggseg.stain.base import StainNormalizer
from lggseg.training.console import say

__all__ = [
    "SourceNotPretrained",
    "SourcePretraining",
    "cache_dir",
    "gbm_source",
    "synthetic_reference",
    "train_with_source",
]


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


@dataclasses.dataclass(frozen=True)
class SourcePretraining:
    """The stage that pretrains the 8-class GBM source on 8-class GBM data, cached by its settings.

    Attributes (the ``pretrain_*`` arguments of :func:`gbm_source`):
      architecture: builds the 8-class network (``architecture(num_classes=8)``).
      data: 8-class data to pretrain on, or ``None`` for ``images`` synthetic GBM-stained
        images of ``image_size`` pixels.
      reference: the Macenko reference (``None``: :func:`synthetic_reference`).
      tile_size, epochs, steps_per_epoch, batch_size, learning_rate: the budget.
      seed: seeds the synthetic data and the stage's training.
      batchnorm_batches: training batches its BatchNorm statistics are re-estimated on at
        the end (see :mod:`lggseg.training.batchnorm`; part of the cache key).
      normalizer: the stain normaliser, unfitted (``None``: Macenko with its defaults). The
        target's normaliser should match it, so that fine-tuning sees what the source saw.
    """

    architecture: Callable[..., keras.Model]
    data: DataSource | None = None
    reference: str | np.ndarray | None = None
    images: int = 48
    image_size: int = 256
    tile_size: int = 256
    epochs: int = 4
    steps_per_epoch: int = 25
    batch_size: int = 8
    learning_rate: float = 1e-3
    seed: int = 0
    batchnorm_batches: int = 25
    normalizer: StainNormalizer | None = None

    @functools.cached_property
    def source(self) -> DataSource:
        """The pretraining data."""
        if self.data is not None:
            data = self.data
        else:
            from lggseg.data.synthetic import SyntheticSource

            data = SyntheticSource(count=self.images, size=self.image_size, num_classes=8, seed=self.seed, stain="gbm")
        if data.scheme.num_classes != 8:
            raise ValueError(
                f"gbm_source.pretrain_data must have the 8 IvyGAP classes, got {data.scheme.codes}."
            )
        return data

    @functools.cached_property
    def run_dir(self) -> Path:
        """The stage's run directory in the cache, named by a hash of everything that shapes its result."""
        data = self.source
        normalizer = _describe_normalizer(self.normalizer)
        settings = {
            "model": self.architecture(num_classes=8).to_json(),
            "data": [data.names, data.class_histograms().sum(axis=0).tolist()],
            "reference": _describe_reference(self.reference),
            "budget": [self.tile_size, self.epochs, self.steps_per_epoch, self.batch_size, self.learning_rate,
                       self.seed],
            # Only a stage that re-estimates its BatchNorm statistics adds the key: sources cached
            # before that step existed (batchnorm_batches 0) keep theirs.
            **({"batchnorm_batches": self.batchnorm_batches} if self.batchnorm_batches else {}),
            # Likewise the normaliser: only one other than default Macenko adds the key.
            **({"normalizer": normalizer} if normalizer else {}),
        }
        key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
        return cache_dir() / f"gbm_source-{key}"

    @property
    def lock_path(self) -> Path:
        """The file one pretraining process at a time holds: hidden beside :attr:`run_dir`."""
        return self.run_dir.with_name(f".{self.run_dir.name}.lock")

    def run(self) -> Path:
        """Pretrain into :attr:`run_dir` (resuming an interrupted stage); returns its ``model.keras``.

        One process at a time: benchmark jobs side by side (``lggseg benchmark --jobs 2``) often
        need the same source, and two trainers in one run directory would overwrite each
        other's checkpoints. A process that finds the stage locked waits, then uses the model
        the other one cached.
        """
        from filelock import FileLock, Timeout

        final = self.run_dir / "model.keras"
        lock = FileLock(self.lock_path)
        self.run_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            say(f"GBM source: another process is pretraining it in {self.run_dir}; waiting for it.")
            lock.acquire()
        try:
            if final.is_file():
                say(f"GBM source: pretrained meanwhile by another process ({final}).")
                return final
            self._train()
        finally:
            lock.release()
        return final

    def _train(self) -> None:
        from lggseg.data import split_by_group
        from lggseg.evaluation import SlidingWindowPredictor, evaluate
        from lggseg.losses import CrossEntropy
        from lggseg.stain import make_normalizer
        from lggseg.training.pipeline import TileDataset
        from lggseg.training.samplers import UniformSampler
        from lggseg.training.schedule import Phase
        from lggseg.training.trainer import train

        run_dir, data = self.run_dir, self.source
        say(
            "GBM source: no GBM weights named (gbm_source.weights), so lggseg pretrains an 8-class "
            f"FC-DenseNet on {len(data)} GBM images first and caches it in {run_dir} "
            f"({self.epochs} x {self.steps_per_epoch} steps, seed {self.seed})."
        )
        train(
            data=data,
            model=lambda: self.architecture(num_classes=8),
            run_dir=run_dir,
            phases=[Phase(layers_to_unfreeze="all", learning_rate=self.learning_rate, epochs=self.epochs)],
            loss=CrossEntropy(),
            sampler=UniformSampler(),
            normalizer=self.normalizer if self.normalizer is not None else make_normalizer("macenko"),
            reference=self.reference if self.reference is not None else synthetic_reference(),
            val_fraction=0.15,
            tile_size=self.tile_size,
            batch_size=self.batch_size,
            steps_per_epoch=self.steps_per_epoch,
            seed=self.seed,
            batchnorm_batches=self.batchnorm_batches,
            # The stage's own components and record, never the experiment's gin bindings.
            dataset=TileDataset,
            predictor=SlidingWindowPredictor,
            evaluator=evaluate,
            splitter=split_by_group,
            config_record=self,
        )

    def requested(self) -> str:
        """The stage's settings, as the ``gbm_source`` bindings that give them (its config record)."""
        lines = [
            "# The GBM source pretraining stage (lggseg.training.SourcePretraining), run by lggseg",
            "# because no source weights were named and none were cached with these settings.",
            f"# architecture: {getattr(self.architecture, '__name__', repr(self.architecture))}"
            " (its full graph is in checkpoint / model.keras)",
            f"# data: {self.data!r}" if self.data is not None else "# data: synthetic GBM-lab H&E",
            f"gbm_source.pretrain_reference = {_describe_reference(self.reference)!r}",
        ]
        for field in ("images", "image_size", "tile_size", "epochs", "steps_per_epoch", "batch_size",
                      "learning_rate"):
            lines.append(f"gbm_source.pretrain_{field} = {getattr(self, field)!r}")
        lines.append(f"gbm_source.seed = {self.seed!r}")
        normalizer = _describe_normalizer(self.normalizer)
        if normalizer:
            lines.append(f"# gbm_source.pretrain_normalizer: {normalizer}")
        return "\n".join(lines) + "\n"

    def write(self, run_dir: Path) -> None:
        """``config.gin`` of the stage: :meth:`requested`, never the experiment's gin config."""
        with atomic_write(run_dir / "config.gin") as tmp:
            tmp.write_text(self.requested())


class SourceNotPretrained(LookupError):
    """No GBM source weights were named and no pretrained source is cached for these settings.

    Attributes:
      stage: the :class:`SourcePretraining` that would produce it (``stage.run()``).
    """

    def __init__(self, stage: SourcePretraining):
        self.stage = stage
        super().__init__(
            f"The GBM source is not pretrained yet (no gbm_source.weights named and nothing cached in "
            f"{stage.run_dir}). `lggseg train` runs the pretraining stage first; from Python call "
            f"lggseg.training.train_with_source(...) or exc.stage.run(), or name GBM_WSSM.h5 with "
            f"gbm_source.weights."
        )


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
    pretrain_normalizer: StainNormalizer | None = None,
    seed: int = 0,
) -> keras.Model:
    """The 8-class GBM source model, loaded (it never trains).

    Args:
      weights: a GBM_WSSM ``.h5`` (Keras 2 ``save_weights``), or an lggseg ``.keras`` /
        ``.weights.h5``. ``None``: the source pretrained by the :class:`SourcePretraining`
        stage these arguments describe, from the cache.
      architecture: the builder of the 8-class network (default
        :func:`lggseg.models.fc_densenet`; in gin ``@fc_densenet`` so its bindings apply).
      pretrain_data: 8-class data to pretrain on (default: ``pretrain_images`` synthetic
        GBM-stained images of ``pretrain_image_size`` pixels).
      pretrain_reference: the Macenko reference for pretraining (default
        :func:`synthetic_reference`).
      pretrain_*: the pretraining budget: ``pretrain_epochs`` x ``pretrain_steps_per_epoch``
        steps of ``pretrain_batch_size`` tiles of ``pretrain_tile_size`` pixels.
      pretrain_normalizer: the pretraining's stain normaliser, unfitted (default Macenko;
        in gin ``@macenko()``, so ``macenko.*`` bindings apply to both stages).
      seed: seeds the synthetic data and the pretraining.

    Raises:
      SourceNotPretrained: without ``weights`` when the stage has not run yet.
      FileNotFoundError: when ``weights`` does not exist.
    """
    from lggseg.models import fc_densenet, load_model

    architecture = architecture or fc_densenet
    if weights is not None:
        return _load_weights(weights, architecture)
    stage = SourcePretraining(
        architecture=architecture, data=pretrain_data, reference=pretrain_reference, images=pretrain_images,
        image_size=pretrain_image_size, tile_size=pretrain_tile_size, epochs=pretrain_epochs,
        steps_per_epoch=pretrain_steps_per_epoch, batch_size=pretrain_batch_size,
        learning_rate=pretrain_learning_rate, seed=seed, normalizer=pretrain_normalizer,
    )
    final = stage.run_dir / "model.keras"
    if not final.is_file():
        raise SourceNotPretrained(stage)
    say(f"GBM source: using the cached pretrained source model {final}")
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


def _describe_normalizer(normalizer: StainNormalizer | None) -> dict[str, Any] | None:
    """The normaliser's method and settings; ``None`` for an unfitted default Macenko."""
    from lggseg.stain import Macenko

    if normalizer is None:
        return None
    described = {"method": normalizer.method, **normalizer.get_config()}
    return None if described == {"method": Macenko.method, **Macenko().get_config()} else described


def _describe_reference(reference) -> str:
    if reference is None:
        return "synthetic"
    if isinstance(reference, np.ndarray):
        return hashlib.sha256(reference.tobytes()).hexdigest()[:12]
    return str(reference)


def train_with_source(
    train: Callable[..., Path], *, run_dir: str | Path, overwrite: bool = False, allow_config_change: bool = False
) -> Path:
    """``train(run_dir=run_dir, ...)``, running the GBM source's pretraining stage first when it is missing.

    The stage runs before the experiment starts, in its own cached run directory, with
    its own seed and config record; the experiment then starts afresh in ``run_dir``,
    where the first attempt wrote nothing but the run marker (see
    :func:`lggseg.training.trainer.prepare_run`).
    """
    # Only flags that are set are passed, so that gin's train.overwrite / train.allow_config_change
    # bindings apply otherwise.
    options: dict[str, Any] = {"run_dir": run_dir}
    if overwrite:
        options["overwrite"] = True
    if allow_config_change:
        options["allow_config_change"] = True
    try:
        return train(**options)
    except SourceNotPretrained as missing:
        say(f"The experiment's GBM source is not pretrained yet: running its pretraining stage first "
            f"({missing.stage.run_dir}).")
        missing.stage.run()
    return train(**options)
