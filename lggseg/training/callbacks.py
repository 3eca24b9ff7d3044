"""Keras callbacks of the trainer: epoch checkpoints with a NaN guard and Ctrl-C handling, and a
rich progress display."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import keras

from lggseg.progress import progress_bar


class EpochEnd(keras.callbacks.Callback):
    """After every epoch: stop on a non-finite loss, else hand the logs to ``on_epoch``.

    ``on_epoch(epoch, logs)`` (epoch 1-based within the phase) checkpoints and writes
    history; it returns True to end the phase early (early stopping). A NaN epoch is never
    checkpointed, so the last good checkpoint survives. When ``stop_requested()`` turns true (Ctrl-C, see
    :mod:`lggseg.training.interrupt`) training stops after the current step, and an epoch
    cut short is not handed on: only finished epochs are recorded.
    """

    def __init__(
        self,
        *,
        on_epoch: Callable[[int, dict[str, Any]], bool],
        stop_requested: Callable[[], bool] = lambda: False,
    ):
        super().__init__()
        self._on_epoch = on_epoch
        self._stop_requested = stop_requested
        self._steps_done = 0
        self.diverged_at: int | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self._steps_done = 0

    def on_train_batch_end(self, batch, logs=None):
        self._steps_done += 1
        loss = (logs or {}).get("loss")
        if (loss is not None and not math.isfinite(float(loss))) or self._stop_requested():
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        loss = logs.get("loss")
        if loss is None or not math.isfinite(float(loss)):
            self.diverged_at = epoch + 1
            self.model.stop_training = True
            return
        if self._stop_requested() and self._steps_done < self.params.get("steps", self._steps_done):
            return  # cut short by Ctrl-C: not a finished epoch
        if self._on_epoch(epoch + 1, logs):
            self.model.stop_training = True


class RichProgress(keras.callbacks.Callback):
    """One progress bar per phase: phase, epoch, step, loss and ETA."""

    def __init__(self, *, phase_index: int, num_phases: int, epochs: int, steps: int, description: str):
        super().__init__()
        self._progress = progress_bar(
            label="[bold]phase {task.fields[phase]}[/bold] epoch {task.fields[epoch]}",
            fields=("loss {task.fields[loss]}",),
            elapsed=True,
        )
        self._phase = f"{phase_index}/{num_phases}"
        self._epochs = epochs
        self._steps = steps
        self._description = description
        self._task = None
        self._start = 0.0

    def on_train_begin(self, logs=None):
        self._progress.console.print(f"[bold]Phase {self._phase}[/bold]: {self._description}")
        self._progress.start()
        self._task = self._progress.add_task(
            "train", total=self._epochs * self._steps, phase=self._phase, epoch="-", loss="-"
        )
        self._start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._progress.update(
            self._task, epoch=f"{epoch + 1}/{self._epochs}", completed=epoch * self._steps
        )

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        self._progress.update(
            self._task, advance=1, loss="-" if loss is None else f"{float(loss):.4f}"
        )

    def on_train_end(self, logs=None):
        self._progress.stop()
