"""The trainer: prepare the run, run each phase, finish — composing the components it is given.

:func:`train` runs one experiment as its gin file describes it and writes everything
into a run directory (see :mod:`lggseg.training.run_dir`). Rerunning the same command
with the same run directory resumes from the last finished epoch; finished phases are
never trained again.

It builds none of its collaborators itself; it is given factories, each defaulting to
the gin configurable of the same component, so that every binding of it takes effect:

* ``dataset`` (default ``tile_dataset``, a :class:`~lggseg.training.pipeline.TileDataset`)
  is called as ``dataset(source=, sampler=, tile_size=, batch_size=, normalizer=,
  augmentation=, seed=, workers=, steps_per_epoch=)``; gin binds the rest
  (``tile_dataset.shuffle``, ``.normalize_whole_images``, ``.use_multiprocessing``,
  ``.max_queue_size``).
* ``predictor`` (default ``SlidingWindowPredictor``) is called as ``predictor(model=,
  tile_size=, batch_size=, normalizer=)``; gin binds ``SlidingWindowPredictor.overlap``,
  ``.tta``, ``.blend``.
* ``evaluator`` (default ``evaluate``) is called as ``evaluator(predictor=, source=,
  sample_pixels_per_class=)`` and returns an ``EvaluationResult``.
* ``splitter`` (default ``split_by_group``) is called as ``splitter(data, val_fraction=,
  seed=)`` and returns training and validation indices (unused with ``validation``).
* ``test_fold`` (default none; ``@cv_fold`` in a cross-validation) is called as
  ``test_fold(data)`` and returns a :class:`~lggseg.data.folds.FoldSplit`; its test samples
  are set aside before the splitter runs.

Reading order: :func:`train` -> :func:`prepare_run` (steps in ``setup.py``) ->
:func:`compose_run` -> :func:`run_phase` per phase -> ``report.finish_run``. The state
they share is one :class:`~lggseg.training.run.TrainingRun`.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lggseg.data.source import DataSource
from lggseg.stain.base import StainNormalizer
from lggseg.training import run_dir as rd
from lggseg.training import setup
from lggseg.training.batchnorm import recalibrate_batchnorm
from lggseg.training.callbacks import EpochEnd, RichProgress
from lggseg.training.checkpoint import restore_training_state
from lggseg.training.components import configured
from lggseg.training.config_record import ConfigRecord, GinConfig
from lggseg.training.console import say, scores_line
from lggseg.training.report import finish_run
from lggseg.training.run import TrainingRun, history_metrics
from lggseg.training.schedule import Phase, apply_phase, make_optimizer

__all__ = ["TrainingDiverged", "compose_run", "prepare_run", "run_phase", "train"]

# Validation pixels kept per class and image to fit the rare-class decision rule on.
RULE_PIXELS = 20000


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def train(
    *,
    data: DataSource,
    model: Callable[[], keras.Model],
    run_dir: str | Path,
    phases: Sequence[Phase] = (Phase(),),
    loss: keras.losses.Loss | None = None,
    sampler: Any = None,
    normalizer: StainNormalizer | None = None,
    reference: str | Path | np.ndarray | None = None,
    augmentation: Callable | None = None,
    validation: DataSource | None = None,
    test_fold: Callable[[DataSource], Any] | None = None,
    val_fraction: float = 0.2,
    split_seed: int = 0,
    tile_size: int = 256,
    batch_size: int = 8,
    steps_per_epoch: int | None = None,
    seed: int = 0,
    workers: int = 1,
    validate_every_epoch: bool = False,
    progress: bool = True,
    distribution: Callable[[], None] | None = None,
    decision_rule: bool = True,
    batchnorm_batches: int = 25,
    dataset: Callable[..., Any] | None = None,
    predictor: Callable[..., Any] | None = None,
    evaluator: Callable[..., Any] | None = None,
    splitter: Callable[..., Any] | None = None,
    config_record: ConfigRecord | None = None,
    overwrite: bool = False,
    allow_config_change: bool = False,
    eval_overlap: float | None = None,
) -> Path:
    """Train ``model`` on ``data`` through ``phases``; returns the run directory.

    Args (the components' defaults and call signatures are in the module docstring):
      data, validation: training data; validation images (else ``splitter`` splits ``data``).
      test_fold: sets a test fold of ``data`` aside before the split (``@cv_fold``); it is
        scored once, at the end (``test/metrics.json``), and chooses nothing.
      model: a builder of no arguments (gin ``@gbm_transfer``); a resumed run loads instead.
      run_dir: where everything is written; an existing run there is resumed.
      phases, loss: the unfreeze schedule and the loss (default focal, gamma 2, alpha 0.25).
      sampler, augmentation: an epoch's tiles (default uniform); joint image + mask augmentation.
      normalizer, reference: an unfitted stain normaliser (``None``: none), fitted on the
        reference (``None``: :func:`lggseg.stain.choose_reference` picks a training image).
      tile_size, batch_size, steps_per_epoch, workers: training tiles, validation tiles too.
      seed: seeds sampling, augmentation and weight initialisation.
      validate_every_epoch, progress: validate after every epoch; show the progress display.
      distribution: called before the model is built (``@data_parallel``).
      decision_rule: fit and report the rare-class rule beside the argmax (``decision_rule.json``).
      batchnorm_batches: after each phase, re-estimate the BatchNorm statistics of the layers
        it trained on this many training batches, with the final weights
        (:mod:`lggseg.training.batchnorm`); 0 keeps the moving averages of training.
      dataset, predictor, evaluator, splitter: the components train composes.
      config_record: what was asked for (compared on resume) and used (``config.gin``).
      overwrite, allow_config_change: write into any folder; resume a changed configuration.
      eval_overlap: deprecated; bind ``SlidingWindowPredictor.overlap`` instead.
    """
    if not phases:
        raise ValueError("train.phases is empty; give at least one phase.")
    predictor = _deprecated_eval_overlap(eval_overlap, predictor) if eval_overlap is not None else predictor
    if distribution is not None:
        distribution()
    record = config_record or GinConfig()
    prepared = prepare_run(
        data=data, model=model, run_dir=run_dir, validation=validation, test_fold=test_fold, splitter=splitter,
        val_fraction=val_fraction, split_seed=split_seed, seed=seed, normalizer=normalizer, reference=reference,
        requested_config=record.requested(), overwrite=overwrite, allow_config_change=allow_config_change,
    )
    if prepared is None:
        return setup.process_run_dir(run_dir)  # the run had finished
    run = compose_run(
        prepared, phases=phases, loss=loss, sampler=sampler, augmentation=augmentation, tile_size=tile_size,
        batch_size=batch_size, steps_per_epoch=steps_per_epoch, seed=seed, workers=workers,
        validate_every_epoch=validate_every_epoch, progress=progress, decision_rule=decision_rule,
        batchnorm_batches=batchnorm_batches, dataset=dataset, predictor=predictor, evaluator=evaluator,
    )
    record.write(run.dir)
    with run.stop.handling_sigint():
        for k, phase in run.pending_phases():
            run_phase(run, k, phase)
            run.stop_if_requested()
    finish_run(run, rule_pixels=RULE_PIXELS)
    record.write(run.dir)
    say(f"finished: {run.dir}/model.keras, report {run.dir}/report.md")
    return run.dir


def prepare_run(
    *,
    data: DataSource,
    model: Callable[[], keras.Model],
    run_dir: str | Path,
    validation: DataSource | None,
    splitter: Callable[..., Any] | None,
    val_fraction: float,
    split_seed: int,
    seed: int,
    test_fold: Callable[[DataSource], Any] | None = None,
    normalizer: StainNormalizer | None,
    reference: str | Path | np.ndarray | None,
    requested_config: str = "",
    overwrite: bool = False,
    allow_config_change: bool = False,
) -> setup.PreparedRun | None:
    """Open (or resume) the run: split, model, stain normaliser; ``None`` if it had finished.

    Nothing is written into the run directory before the model is built (or its checkpoint
    loaded) and checked against the data, so a run that cannot start leaves no files.
    """
    directory, state = setup.open_run_dir(
        run_dir, requested_config=requested_config, overwrite=overwrite, allow_config_change=allow_config_change
    )
    if state is not None and state.status == "finished":
        say(f"{directory} holds a finished run; nothing to do (use another --run-dir to train again).")
        return None
    keras.utils.set_random_seed(seed)
    train_src, val_src, test_src, split = setup.split_data(
        data, validation=validation, splitter=splitter or configured("split_by_group"),
        val_fraction=val_fraction, seed=split_seed, run_dir=directory, test_fold=test_fold,
    )
    net, state = setup.load_or_build_model(run_dir=directory, state=state, model=model)
    setup.check_classes(net, data)
    held_out = f" and {len(test_src)} test images (fold {split['cross_validation']['fold']})" if test_src else ""
    say(
        f"data: {len(train_src)} training and {len(val_src)} validation images{held_out}, classes "
        f"{', '.join(data.scheme.codes)}; training pixel shares "
        + ", ".join(f"{c} {s:.1%}" for c, s in train_src.class_shares().items())
        + _unlabelled(train_src)
    )
    setup.warn_blank_images(train_src)
    fitted = setup.fit_normalizer(normalizer, reference=reference, train_src=train_src, run_dir=directory)
    setup.write_run_files(run_dir=directory, split=split, data=data, state=state)
    return setup.PreparedRun(
        dir=directory, state=state, scheme=data.scheme, train_src=train_src, val_src=val_src, net=net,
        normalizer=fitted, test_src=test_src,
    )


def compose_run(
    prepared: setup.PreparedRun,
    *,
    phases: Sequence[Phase],
    loss: keras.losses.Loss | None,
    sampler: Any,
    augmentation: Callable | None,
    tile_size: int,
    batch_size: int,
    steps_per_epoch: int | None,
    seed: int,
    workers: int,
    validate_every_epoch: bool,
    progress: bool,
    decision_rule: bool,
    dataset: Callable[..., Any] | None,
    predictor: Callable[..., Any] | None,
    evaluator: Callable[..., Any] | None,
    batchnorm_batches: int = 0,
) -> TrainingRun:
    """Give the prepared run its training tiles, validation predictor, evaluator and schedule."""
    from lggseg.training.distribution import process_index
    from lggseg.training.samplers import UniformSampler

    tiles = (dataset or configured("tile_dataset"))(
        source=prepared.train_src,
        sampler=sampler if sampler is not None else UniformSampler(),
        tile_size=tile_size,
        batch_size=batch_size,
        normalizer=prepared.normalizer,
        augmentation=augmentation,
        # Each process of a multi-host job feeds its own share of the global batch.
        seed=seed + process_index(),
        workers=workers,
        steps_per_epoch=steps_per_epoch,
    )
    validator = (predictor or configured("SlidingWindowPredictor"))(
        model=prepared.net, tile_size=tile_size, batch_size=batch_size, normalizer=prepared.normalizer
    )
    return TrainingRun(
        **{field.name: getattr(prepared, field.name) for field in dataclasses.fields(prepared)},
        dataset=tiles, predictor=validator,
        evaluator=evaluator or configured("evaluate"), phases=phases,
        loss=loss if loss is not None else _default_loss(), validate_every_epoch=validate_every_epoch,
        decision_rule=decision_rule, progress=progress, batchnorm_batches=batchnorm_batches,
    )


def run_phase(run: TrainingRun, k: int, phase: Phase) -> None:
    """Train phase ``k`` (resuming inside it if it had started), then validate and report it."""
    from lggseg.evaluation import write_report
    from lggseg.training.distribution import distribution_scope

    counts = apply_phase(run.net, phase)
    say(
        f"phase {k}/{len(run.phases)}: {phase.describe()}; trainable parameters "
        f"{counts['trainable']:,}, frozen {counts['non_trainable']:,}"
    )
    with distribution_scope():
        run.net.compile(optimizer=make_optimizer(phase), loss=run.loss)
        if run.state.epochs_done:  # resuming inside this phase: its optimizer and random state too
            restore_training_state(run.net, run.dir, phase=k, epoch=run.state.epochs_done)
    guard = EpochEnd(
        on_epoch=functools.partial(run.end_epoch, phase_index=k, phase=phase),
        stop_requested=lambda: run.stop.requested,
    )
    callbacks: list[keras.callbacks.Callback] = [guard]
    if run.progress:
        callbacks.append(RichProgress(
            phase_index=k, num_phases=len(run.phases), epochs=phase.epochs, steps=len(run.dataset),
            description=phase.describe(),
        ))
    # The dataset's epoch counter is global, so a resumed run draws the same tiles.
    run.dataset.set_epoch(run.epochs_before(k) + run.state.epochs_done)
    run.start_epoch_clock()
    run.net.fit(
        run.dataset, epochs=phase.epochs, initial_epoch=run.state.epochs_done, verbose=0, callbacks=callbacks,
        # The dataset orders its own epoch (seeded); Keras would shuffle its batches again with
        # numpy's global generator, whose state a resumed run cannot have.
        shuffle=False,
    )
    if guard.diverged_at is not None:
        run.state.status = "diverged"
        run.state.save(run.dir)
        raise TrainingDiverged(
            f"The loss became NaN or infinite in phase {k}, epoch {guard.diverged_at}. "
            f"The last good model is {run.checkpoint} (phase {run.state.phases_done + 1}, epoch "
            f"{run.state.epochs_done}); lower the phase's learning rate or check the data, then "
            f"rerun with the same --run-dir to resume from it."
        )
    run.stop_if_requested()  # Ctrl-C: the phase is unfinished; resume trains the rest of it
    if run.batchnorm_batches:
        # The epoch's own batches (seeded by epoch and index), so a resumed run gets the same.
        batches = (run.dataset[i][0] for i in range(min(run.batchnorm_batches, len(run.dataset))))
        if recalibrate_batchnorm(run.net, batches):
            say(f"phase {k}: BatchNorm statistics re-estimated with the final weights on "
                f"{min(run.batchnorm_batches, len(run.dataset))} training batches")
    rd.save_model_atomic(run.net, run.dir / f"phase_{k}.keras")
    # The last phase's validation also samples the pixels a decision rule is fitted on.
    last = k == len(run.phases)
    result = run.validate(sample_pixels_per_class=RULE_PIXELS if run.decision_rule and last else 0)
    run.last_result = result
    rd.update_last_history_row(run.dir, history_metrics(result.metrics))
    write_report(
        out_dir=run.dir / f"phase_{k}",
        metrics=result.metrics,
        scheme=run.scheme,
        history=rd.read_history(run.dir),
        config_summary=f"Phase {k}/{len(run.phases)}: {phase.describe()}",
        with_plots=False,  # the final report draws them; phases keep metrics and tables
    )
    say(f"phase {k} validation: {scores_line(result.metrics, run.scheme.codes)}")
    run.end_phase(k)


def _unlabelled(source: DataSource) -> str:
    """``; 7.2% of pixels unlabelled (ignored)``, or nothing when every pixel has a class."""
    ignored = int(source.ignored_pixels().sum())
    total = sum(int(sample.mask.size) for sample in source)
    return f"; {ignored / total:.1%} of pixels unlabelled (ignored)" if ignored else ""


def _deprecated_eval_overlap(overlap: float, predictor: Callable[..., Any] | None) -> Callable[..., Any]:
    warnings.warn(
        "train.eval_overlap is deprecated and will be removed in the next release; bind "
        "SlidingWindowPredictor.overlap instead.", DeprecationWarning, stacklevel=3,
    )
    say("train.eval_overlap is deprecated: bind SlidingWindowPredictor.overlap instead.")
    return functools.partial(predictor or configured("SlidingWindowPredictor"), overlap=overlap)


def _default_loss() -> keras.losses.Loss:
    from lggseg.losses import FocalLoss

    return FocalLoss(gamma=2.0, alpha=0.25)


