"""Unfreeze schedules: a list of phases, each with its trainable depth and learning rate.

The method lggseg grows from trains the GBM-transfer model in four phases of 30 epochs:
the head only at 1e-3, then the last 10, 25 and 50 layers at 1e-4, 1e-5 and 1e-5
(progressive unfreezing, Howard & Ruder 2018, "Universal Language Model Fine-tuning").
In gin a schedule is a list of scoped ``phase`` references::

    train.phases = [@head/phase(), @last10/phase()]
    head/phase.layers_to_unfreeze = 0
    head/phase.learning_rate = 1e-3
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import keras

from lggseg.evaluation.metric_names import check_metric_name
from lggseg.models.freezing import COUNTS

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")


@dataclasses.dataclass(frozen=True)
class Phase:
    """One phase of training.

    Attributes:
      layers_to_unfreeze: how many of the model's last layers train (``0`` = the head
        only for a transfer model, see :func:`lggseg.models.freeze_all_but_last`), or
        ``"all"``.
      count: what counts as a layer: ``"weighted"`` (layers with weights, the head not
        counted) or ``"layers"`` (the Keras slice ``model.layers[-N:]``, as the method's
        code counted, which the method's configs bind).
      learning_rate: the optimizer's learning rate for this phase.
      epochs: epochs in this phase.
      optimizer: one of ``adam``, ``adamw``, ``sgd``, ``rmsprop``.
      early_stop_metric: a validation metric to watch after every epoch, by its flat name
        (:func:`lggseg.evaluation.metrics.metric_names`: ``LE_recall``, ``IT_f1``,
        ``macro_f1``, ...); ``None`` trains all epochs. Checked here for its form, and
        against the data's classes at the first validation.
      early_stop_patience: epochs without improvement before the phase ends.
      freeze_batchnorm: keep every BatchNormalization layer frozen (inference mode, the
        source's statistics) even inside the unfrozen layers, as Keras' transfer-learning
        guide advises; the default trains them, as the method did, which switches them to
        the statistics of each small batch.
    """

    layers_to_unfreeze: int | Literal["all"] = "all"
    count: str = "weighted"
    learning_rate: float = 1e-3
    epochs: int = 1
    optimizer: str = "adam"
    early_stop_metric: str | None = None
    early_stop_patience: int = 5
    freeze_batchnorm: bool = False

    def __post_init__(self):
        if self.layers_to_unfreeze != "all" and (
            not isinstance(self.layers_to_unfreeze, int) or self.layers_to_unfreeze < 0
        ):
            raise ValueError(
                f"layers_to_unfreeze must be a non-negative int or 'all', got {self.layers_to_unfreeze!r}."
            )
        if self.count not in COUNTS:
            raise ValueError(f"Unknown layer count phase.count={self.count!r}; valid: {', '.join(COUNTS)}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}.")
        if self.epochs < 1:
            raise ValueError(f"A phase needs at least one epoch, got epochs={self.epochs}.")
        if isinstance(self.learning_rate, bool) or not isinstance(self.learning_rate, (int, float)) or not (
            self.learning_rate > 0
        ):
            raise ValueError(
                f"learning_rate must be a positive number such as 1e-4, got {self.learning_rate!r}."
            )
        if self.early_stop_metric is not None:
            # A typo fails when the gin file is read, not after the first epoch.
            check_metric_name(self.early_stop_metric)

    def describe(self) -> str:
        depth = "all layers" if self.layers_to_unfreeze == "all" else (
            "head only" if self.layers_to_unfreeze == 0 else
            f"last {self.layers_to_unfreeze} {'layers' if self.count == 'layers' else 'weighted layers'}"
        )
        bn = ", BatchNorm frozen" if self.freeze_batchnorm else ""
        return f"{depth}, lr={self.learning_rate:g}, {self.epochs} epochs, {self.optimizer}{bn}"


def phase(
    *,
    layers_to_unfreeze: int | str = "all",
    count: str = "weighted",
    learning_rate: float = 1e-3,
    epochs: int = 1,
    optimizer: str = "adam",
    early_stop_metric: str | None = None,
    early_stop_patience: int = 5,
    freeze_batchnorm: bool = False,
) -> Phase:
    """Build a :class:`Phase` (the gin-facing constructor)."""
    return Phase(
        layers_to_unfreeze=layers_to_unfreeze,  # type: ignore[arg-type]
        count=count,
        learning_rate=learning_rate,
        epochs=epochs,
        optimizer=optimizer,
        early_stop_metric=early_stop_metric,
        early_stop_patience=early_stop_patience,
        freeze_batchnorm=freeze_batchnorm,
    )


def make_optimizer(phase: Phase) -> keras.optimizers.Optimizer:
    """A fresh optimizer for a phase (each phase recompiles, as in the method)."""
    if phase.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=phase.learning_rate)
    if phase.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate=phase.learning_rate)
    if phase.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=phase.learning_rate, momentum=0.9)
    return keras.optimizers.RMSprop(learning_rate=phase.learning_rate)


def apply_phase(model: keras.Model, phase: Phase) -> dict[str, int]:
    """Set trainability for ``phase``; returns trainable / non-trainable parameter counts.

    A transfer model's head is always trainable (``layers_to_unfreeze=0`` trains the head
    only); a model without the transfer head (a scratch baseline) counts from its output.
    """
    from lggseg.models import freeze_all_but_last
    from lggseg.models.freezing import parameter_counts
    from lggseg.models.transfer import HEAD_LAYERS

    names = {layer.name for layer in model.layers}
    head = tuple(h for h in HEAD_LAYERS if h in names)
    counts = freeze_all_but_last(model, n=phase.layers_to_unfreeze, head_layers=head, count=phase.count)
    if phase.freeze_batchnorm:
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
        counts = {**counts, **parameter_counts(model)}
    return counts
