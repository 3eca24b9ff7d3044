"""One training run in progress: its directory, its progress and the components it composes.

:class:`TrainingRun` is the single object the trainer's steps share. It is built by
:func:`lggseg.training.setup.prepare_run`, advanced by
:func:`lggseg.training.trainer.run_phase` and closed by
:func:`lggseg.training.trainer.finish_run`; everything that changes while a run trains
(the :class:`~lggseg.training.run_dir.RunState`, the latest validation metrics, the epoch
clock) lives here and is changed only by its methods.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import keras

from lggseg.evaluation.metrics import flat_metrics, metric_by_name
from lggseg.evaluation.sanity import prediction_collapse
from lggseg.training import run_dir as rd
from lggseg.training.checkpoint import save_training_state
from lggseg.training.console import say
from lggseg.training.interrupt import StopRequest, TrainingInterrupted
from lggseg.training.schedule import Phase
from lggseg.training.setup import PreparedRun

__all__ = ["TrainingRun"]


@dataclasses.dataclass
class TrainingRun(PreparedRun):
    """A run being trained: a :class:`~lggseg.training.setup.PreparedRun` given its components.

    Attributes (besides those of ``PreparedRun``):
      dataset: the training ``TileDataset``.
      predictor: the sliding-window predictor used for validation.
      evaluator: ``evaluator(predictor=..., source=..., ...)`` -> ``EvaluationResult``.
      phases: the unfreeze schedule.
      loss: the training loss.
      validate_every_epoch: validate after every epoch, not only after each phase.
      decision_rule: fit the rare-class decision rule after the last phase.
      progress: show the rich progress display.
      batchnorm_batches: training batches to re-estimate BatchNorm statistics on after each phase.
      stop: set by Ctrl-C (see :mod:`lggseg.training.interrupt`).
      latest_metrics: the last validation's ``metrics.json`` dictionary.
      last_result: the last phase-end validation (its pixel sample feeds the decision rule).
    """

    dataset: Any = None
    predictor: Any = None
    evaluator: Callable[..., Any] | None = None
    phases: Sequence[Phase] = ()
    loss: keras.losses.Loss | None = None
    validate_every_epoch: bool = False
    decision_rule: bool = True
    progress: bool = True
    batchnorm_batches: int = 0
    stop: StopRequest = dataclasses.field(default_factory=StopRequest)
    latest_metrics: dict[str, Any] | None = None
    last_result: Any = None
    _epoch_started: float = dataclasses.field(default=0.0, repr=False)

    @property
    def checkpoint(self) -> Path:
        """The model after the last finished epoch; removed when the run finishes."""
        return self.dir / "checkpoint.keras"

    def pending_phases(self) -> Iterator[tuple[int, Phase]]:
        """``(k, phase)`` for every phase not finished yet (``k`` is 1-based)."""
        for k, phase in enumerate(self.phases, start=1):
            if k > self.state.phases_done:
                yield k, phase

    def epochs_before(self, k: int) -> int:
        """Epochs of the phases before phase ``k``: the dataset's epoch counter is global."""
        return sum(p.epochs for p in self.phases[: k - 1])

    def validates_every_epoch(self, phase: Phase) -> bool:
        return self.validate_every_epoch or phase.early_stop_metric is not None

    def validate(self, *, sample_pixels_per_class: int = 0) -> Any:
        """Evaluate the model on the validation images; remembers the metrics."""
        result = self.evaluator(
            predictor=self.predictor, source=self.val_src, sample_pixels_per_class=sample_pixels_per_class
        )
        note_collapse(result.metrics)
        self.latest_metrics = result.metrics
        return result

    def start_epoch_clock(self) -> None:
        self._epoch_started = time.perf_counter()

    def end_epoch(self, epoch: int, logs: dict[str, Any], *, phase_index: int, phase: Phase) -> bool:
        """After a finished (finite-loss) epoch: history row, checkpoint, state; True to stop the phase early."""
        row: dict[str, Any] = {"phase": phase_index, "epoch": epoch, "loss": float(logs["loss"])}
        for code, share in (self.dataset.last_epoch_class_shares or {}).items():
            row[f"share_{code}"] = share
        if self.validates_every_epoch(phase):
            row.update(history_metrics(self.validate().metrics))
        stop = self._no_longer_improving(phase)
        rd.append_history(self.dir, row)
        # The training state first: a resume trusts it only if it matches the checkpoint's epoch.
        save_training_state(self.net, self.dir, phase=phase_index, epoch=epoch)
        rd.save_model_atomic(self.net, self.checkpoint)
        now = time.perf_counter()
        self.state.epochs_done = epoch
        self.state.steps_done += len(self.dataset)
        self.state.train_seconds += now - self._epoch_started
        self._epoch_started = now
        self.state.save(self.dir)
        return stop

    def _no_longer_improving(self, phase: Phase) -> bool:
        """Early stopping: the phase's metric has not improved for ``early_stop_patience`` epochs."""
        value = metric_by_name(self.latest_metrics, phase.early_stop_metric)
        if value is None:
            return False
        if self.state.early_stop_best is None or value > self.state.early_stop_best:
            self.state.early_stop_best, self.state.early_stop_wait = value, 0
            return False
        self.state.early_stop_wait += 1
        return self.state.early_stop_wait >= phase.early_stop_patience

    def stop_if_requested(self) -> None:
        """Raise :class:`TrainingInterrupted` after a Ctrl-C, once what is finished is saved."""
        if self.stop.requested:
            self.state.save(self.dir)
            raise TrainingInterrupted(
                f"interrupted; finished epochs are saved in {self.dir}. Resume with: --run-dir {self.dir}"
            )

    def end_phase(self, k: int) -> None:
        """Phase ``k`` is finished: the next run starts (or resumes) with phase ``k + 1``."""
        self.state.phases_done, self.state.epochs_done = k, 0
        self.state.early_stop_best, self.state.early_stop_wait = None, 0
        self.state.save(self.dir)


def note_collapse(metrics: dict[str, Any]) -> None:
    """Say so, and add it to the metrics' notes (so reports show it), when predictions collapsed to one class."""
    warning = prediction_collapse(metrics)
    if warning is not None:
        say(f"warning: {warning}")
        metrics.setdefault("notes", []).append(f"Warning: {warning}.")


def history_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The validation columns of ``history.csv``: ``val_accuracy``, ``val_macro_f1``, ``val_<C>_recall|f1``."""
    return flat_metrics(metrics, prefix="val_", per_class=("recall", "f1"))
