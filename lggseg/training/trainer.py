"""The trainer: data -> split -> stain normaliser -> tiles -> phases -> reports.

:func:`train` runs one experiment as its gin file describes it and writes everything
into a run directory (see :mod:`lggseg.training.run_dir`). Rerunning the same command
with the same run directory resumes from the last finished epoch; finished phases are
never trained again.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lggseg.classes import write_palette
from lggseg.data.source import DataSource
from lggseg.stain.base import StainNormalizer
from lggseg.training import run_dir as rd
from lggseg.training.callbacks import EarlyStopOnMetric, EpochEnd, RichProgress
from lggseg.training.schedule import Phase, apply_phase, make_optimizer

log = logging.getLogger("lggseg.train")


# Validation pixels kept per class and image to fit the rare-class decision rule on.
_RULE_PIXELS = 20000


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
    val_fraction: float = 0.2,
    split_seed: int = 0,
    tile_size: int = 256,
    batch_size: int = 8,
    steps_per_epoch: int | None = None,
    seed: int = 0,
    workers: int = 1,
    eval_overlap: float = 0.25,
    validate_every_epoch: bool = False,
    progress: bool = True,
    distribution: Callable[[], None] | None = None,
    decision_rule: bool = True,
) -> Path:
    """Train ``model`` on ``data`` through ``phases``; returns the run directory.

    Args:
      data: the training data (a source whose masks are in the model's classes). When
        ``validation`` is None it is split by image group into training and validation.
      model: a builder called with no arguments (in gin ``@gbm_transfer``, without
        parentheses), so that a resumed run loads its checkpoint instead of building.
      run_dir: where everything is written; an existing run there is resumed.
      phases: the unfreeze schedule (:class:`~lggseg.training.schedule.Phase` list).
      loss: a loss on index masks; default focal loss (gamma 2, alpha 0.25).
      sampler: defines an epoch's tiles; default one uniform tile per image.
      normalizer: an unfitted stain normaliser (``None``: no normalisation). It is fitted
        on ``reference`` and saved as ``normalizer.json``.
      reference: the reference image (array or file); ``None`` chooses one from the
        training images with :func:`lggseg.stain.choose_reference` and records its name.
      augmentation: a joint image + mask augmentation, applied to training tiles only.
      validation: an explicit validation source (e.g. a fixed split).
      val_fraction, split_seed: the seeded by-group split used when ``validation`` is None.
      tile_size, batch_size: training tiles are ``tile_size`` squared, ``batch_size`` a step.
      steps_per_epoch: gradient steps per epoch (default: the sampler's epoch length
        divided by the batch size), so runs of different data sizes compare at equal budget.
      seed: seeds sampling, augmentation and weight initialisation.
      workers: PyDataset worker threads.
      eval_overlap: overlap of the sliding-window validation.
      validate_every_epoch: run validation after every epoch, not only after each phase
        (implied by a phase's ``early_stop_metric``).
      progress: show the rich progress display.
      distribution: called once before the model is built to set up multi-device
        training, e.g. ``@data_parallel`` in gin (see :mod:`lggseg.training.distribution`).
      decision_rule: after the last phase, fit per-class weights on the validation pixels
        that trade CT precision for LE/IT recall (``decision_rule.json``), and report them
        beside the plain argmax (never instead). Apply the rule to other data with
        ``lggseg evaluate --decision RUN_DIR/decision_rule.json``.
    """
    from lggseg.evaluation import SlidingWindowPredictor, evaluate, write_report
    from lggseg.training.pipeline import TileDataset
    from lggseg.training.distribution import distribution_scope, process_index
    from lggseg.training.samplers import UniformSampler

    if distribution is not None:
        distribution()
    rank = process_index()
    run_dir = Path(run_dir)
    if rank:
        # In a multi-host job every process trains, but only the first owns the run
        # directory; the others write beside it, so no file is written by two processes.
        run_dir = run_dir / f"process-{rank}"
    run_dir.mkdir(parents=True, exist_ok=True)
    state = rd.RunState.load(run_dir)
    if state is not None and state.status == "finished":
        log.warning("%s holds a finished run; nothing to do (use another --run-dir to train again).", run_dir)
        _say(f"{run_dir} holds a finished run; nothing to do.")
        return run_dir
    resumed = state is not None
    state = state or rd.RunState()
    if not phases:
        raise ValueError("train.phases is empty; give at least one phase.")
    keras.utils.set_random_seed(seed)

    train_src, val_src = _split(data, validation=validation, val_fraction=val_fraction, seed=split_seed, run_dir=run_dir)
    _say(
        f"data: {len(train_src)} training and {len(val_src)} validation images, classes "
        f"{', '.join(data.scheme.codes)}; training pixel shares "
        + ", ".join(f"{c} {s:.1%}" for c, s in train_src.class_shares().items())
    )
    normalizer = _fit_normalizer(normalizer, reference=reference, train_src=train_src, run_dir=run_dir)
    write_palette(data.scheme, run_dir / "classes.tsv")

    checkpoint = run_dir / "checkpoint.keras"
    if resumed and checkpoint.is_file():
        import lggseg.losses  # noqa: F401  registers the losses a checkpoint was compiled with
        import lggseg.models  # noqa: F401

        with distribution_scope():
            net = keras.saving.load_model(checkpoint, compile=False)
        rd.truncate_history(run_dir, phases_done=state.phases_done, epochs_done=state.epochs_done)
        _say(f"resuming {run_dir}: {state.phases_done} phase(s) and {state.epochs_done} epoch(s) of the next done")
    else:
        with distribution_scope():
            net = model()
        # Nothing was checkpointed (or no run was here): start afresh, dropping any history
        # of an attempt that never finished an epoch.
        state = rd.RunState()
        rd.truncate_history(run_dir, phases_done=0, epochs_done=0)
    state.status = "running"
    _check_classes(net, data)
    loss = loss if loss is not None else _default_loss()
    sampler = sampler if sampler is not None else UniformSampler()

    dataset = TileDataset(
        source=train_src,
        sampler=sampler,
        tile_size=tile_size,
        batch_size=batch_size,
        normalizer=normalizer,
        augmentation=augmentation,
        # Each process of a multi-host job feeds its own share of the global batch.
        seed=seed + rank,
        workers=workers,
        steps_per_epoch=steps_per_epoch,
    )
    predictor = SlidingWindowPredictor(
        model=net, tile_size=tile_size, overlap=eval_overlap, batch_size=batch_size, normalizer=normalizer
    )
    steps = len(dataset)
    _write_config(run_dir)

    metrics: dict[str, Any] | None = None
    epochs_before = sum(p.epochs for p in phases[: state.phases_done])
    for k, phase in enumerate(phases, start=1):
        if k <= state.phases_done:
            continue
        counts = apply_phase(net, phase)
        _say(
            f"phase {k}/{len(phases)}: {phase.describe()}; trainable parameters "
            f"{counts['trainable']:,}, frozen {counts['non_trainable']:,}"
        )
        with distribution_scope():
            net.compile(optimizer=make_optimizer(phase), loss=loss)
        latest: dict[str, Any] = {}

        def on_epoch(epoch: int, logs: dict[str, Any], k=k, phase=phase) -> None:
            row: dict[str, Any] = {"phase": k, "epoch": epoch, "loss": float(logs["loss"])}
            for code, share in (dataset.last_epoch_class_shares or {}).items():
                row[f"share_{code}"] = share
            if validate_every_epoch or phase.early_stop_metric:
                latest["metrics"] = evaluate(predictor=predictor, source=val_src).metrics
                row.update(_flat_metrics(latest["metrics"]))
            rd.append_history(run_dir, row)
            rd.save_model_atomic(net, checkpoint)
            state.epochs_done = epoch
            state.steps_done += steps
            state.train_seconds += time.perf_counter() - epoch_start[0]
            epoch_start[0] = time.perf_counter()
            state.save(run_dir)

        epoch_start = [time.perf_counter()]
        guard = EpochEnd(on_epoch=on_epoch)
        callbacks: list[keras.callbacks.Callback] = [guard]
        if phase.early_stop_metric:
            callbacks.append(
                EarlyStopOnMetric(
                    read_metric=lambda: _metric(latest.get("metrics"), phase.early_stop_metric),
                    patience=phase.early_stop_patience,
                )
            )
        if progress:
            callbacks.append(
                RichProgress(
                    phase_index=k, num_phases=len(phases), epochs=phase.epochs, steps=steps,
                    description=phase.describe(),
                )
            )
        # The dataset's epoch counter is global, so a resumed run draws the same tiles.
        dataset.set_epoch(epochs_before + state.epochs_done)
        net.fit(
            dataset,
            epochs=phase.epochs,
            initial_epoch=state.epochs_done,
            verbose=0,
            callbacks=callbacks,
        )
        if guard.diverged_at is not None:
            state.status = "diverged"
            state.save(run_dir)
            raise TrainingDiverged(
                f"The loss became NaN or infinite in phase {k}, epoch {guard.diverged_at}. "
                f"The last good model is {checkpoint} (phase {state.phases_done + 1}, epoch "
                f"{state.epochs_done}); lower the phase's learning rate or check the data, then "
                f"rerun with the same --run-dir to resume from it."
            )
        rd.save_model_atomic(net, run_dir / f"phase_{k}.keras")
        # The last phase's validation also samples the pixels a decision rule is fitted on.
        sample = _RULE_PIXELS if decision_rule and k == len(phases) else 0
        result = evaluate(predictor=predictor, source=val_src, sample_pixels_per_class=sample)
        metrics = result.metrics
        rd.update_last_history_row(run_dir, _flat_metrics(metrics))
        write_report(
            out_dir=run_dir / f"phase_{k}",
            metrics=metrics,
            scheme=data.scheme,
            history=rd.read_history(run_dir),
            config_summary=f"Phase {k}/{len(phases)}: {phase.describe()}",
            with_plots=False,  # the final report draws them; phases keep metrics and tables
        )
        _say(f"phase {k} validation: {_summary(metrics, data.scheme.codes)}")
        epochs_before += phase.epochs
        state.phases_done, state.epochs_done = k, 0
        state.save(run_dir)

    rd.save_model_atomic(net, run_dir / "model.keras")
    decisions = None
    if metrics is None:  # every phase had been finished before this call
        result = evaluate(
            predictor=predictor, source=val_src, sample_pixels_per_class=_RULE_PIXELS if decision_rule else 0
        )
    metrics, examples = result.metrics, result.examples
    if decision_rule:
        metrics, examples, decisions = _fit_decision_rule(
            predictor=predictor, val_src=val_src, sampled=result, codes=data.scheme.codes, run_dir=run_dir
        )
    state.status = "finished"
    rd.write_json_atomic(run_dir / "run.json", _run_summary(state, dataset, phases, net))
    write_report(
        out_dir=run_dir,
        metrics=metrics,
        scheme=data.scheme,
        history=rd.read_history(run_dir),
        config_summary=_config_summary(run_dir, phases),
        examples=examples,
        decision=decisions,
    )
    _write_config(run_dir)
    state.save(run_dir)
    checkpoint.unlink(missing_ok=True)
    _say(f"finished: {run_dir}/model.keras, report {run_dir}/report.md")
    return run_dir


# --- helpers -------------------------------------------------------------------------


def _say(message: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(message, highlight=False)
    log.info(message)


def _default_loss() -> keras.losses.Loss:
    from lggseg.losses import FocalLoss

    return FocalLoss(gamma=2.0, alpha=0.25)


def _split(data, *, validation, val_fraction, seed, run_dir: Path):
    from lggseg.data import split_by_group

    if validation is not None:
        if validation.scheme != data.scheme:
            raise ValueError(
                f"Training classes {data.scheme.codes} differ from validation classes "
                f"{validation.scheme.codes}; give both sources the same mapping."
            )
        train_src, val_src = data, validation
    else:
        train_idx, val_idx = split_by_group(data, val_fraction=val_fraction, seed=seed)
        train_src, val_src = data.subset(train_idx), data.subset(val_idx)
    split = {"train": train_src.names, "validation": val_src.names}
    path = run_dir / "split.json"
    if path.is_file():
        before = json.loads(path.read_text())
        if before != split:
            raise ValueError(
                f"The data split differs from the one recorded in {path} (the data or the split "
                f"settings changed); resume with the same data, or use a new --run-dir."
            )
    else:
        rd.write_json_atomic(path, split)
    return train_src, val_src


def _fit_normalizer(normalizer, *, reference, train_src, run_dir: Path):
    if normalizer is None:
        return None
    from lggseg.stain import choose_reference, load_normalizer

    saved = run_dir / "normalizer.json"
    if saved.is_file():
        return load_normalizer(saved)
    if reference is None:
        index = choose_reference(train_src)
        image, name = train_src[index].image, train_src[index].name
    elif isinstance(reference, np.ndarray):
        image, name = reference, "<array>"
    else:
        from lggseg.data.io import read_image

        image, name = read_image(reference), str(reference)
    normalizer.fit(image)
    normalizer.reference_name = name
    normalizer.save(saved)
    _say(f"stain normaliser: {normalizer.method}, reference {name}")
    return normalizer


def _fit_decision_rule(*, predictor, val_src, sampled, codes, run_dir: Path):
    """Fit per-class weights on ``sampled`` validation pixels; evaluate argmax and rule side by side."""
    from lggseg.evaluation import evaluate, fit_class_weights

    rule = fit_class_weights(
        probs=sampled.pixels.probs,
        y_true=sampled.pixels.y_true,
        sample_weight=sampled.pixels.weight,
        class_names=codes,
    )
    rule.save(run_dir / "decision_rule.json")
    both = evaluate(
        predictor=predictor,
        source=val_src,
        decision_rules=[rule],
        decision_fitted_on="these validation images (so its numbers are optimistic)",
    )
    return both.metrics, both.examples, both.decisions


def _check_classes(net: keras.Model, data: DataSource) -> None:
    out = net.output_shape[-1]
    if out != data.scheme.num_classes:
        raise ValueError(
            f"The model predicts {out} classes but the data has {data.scheme.num_classes} "
            f"({', '.join(data.scheme.codes)}); give the data source a class mapping "
            f"(e.g. folder_source.mapping = @ivygap_to_lgg()) or the model num_classes="
            f"{data.scheme.num_classes}."
        )


def _metric(metrics: dict[str, Any] | None, name: str | None) -> float | None:
    if metrics is None or name is None:
        return None
    if name in metrics and not isinstance(metrics[name], dict):
        return metrics[name]
    code, _, which = name.rpartition("_")
    per_class = metrics.get("per_class", {})
    if code not in per_class or which not in per_class[code]:
        valid = ["accuracy", "macro_f1", "miou"] + [
            f"{c}_{m}" for c in per_class for m in ("precision", "recall", "f1", "iou")
        ]
        raise ValueError(f"Unknown validation metric {name!r}; valid: {', '.join(valid)}.")
    return per_class[code][which]


def _flat_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    row = {"val_accuracy": metrics.get("accuracy"), "val_macro_f1": metrics.get("macro_f1")}
    for code, scores in metrics.get("per_class", {}).items():
        for key in ("recall", "f1"):
            row[f"val_{code}_{key}"] = scores.get(key)
    return row


def _summary(metrics: dict[str, Any], codes: Sequence[str]) -> str:
    def fmt(v):
        return "n/a" if v is None else f"{v:.3f}"

    parts = [f"accuracy {fmt(metrics.get('accuracy'))}", f"macro F1 {fmt(metrics.get('macro_f1'))}"]
    for code in codes:
        scores = metrics["per_class"].get(code, {})
        parts.append(f"{code} recall {fmt(scores.get('recall'))}")
    return ", ".join(parts)


def _write_config(run_dir: Path) -> None:
    from lggseg import config

    config.write_operative_config(run_dir)


def _config_summary(run_dir: Path, phases: Sequence[Phase]) -> str:
    lines = [f"Run directory: `{run_dir}`", "", "Phases:"]
    lines += [f"{i}. {p.describe()}" for i, p in enumerate(phases, start=1)]
    return "\n".join(lines)


def _run_summary(state: rd.RunState, dataset, phases, net) -> dict[str, Any]:
    import importlib.metadata
    import platform
    import resource

    tiles = state.steps_done * dataset.batch_size
    versions = {}
    for package in ("lggseg", "keras", "jax", "tensorflow", "numpy"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "backend": keras.backend.backend(),
        "versions": versions,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        # ru_maxrss is in KiB on Linux: the peak of this process, model and data included.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "train_seconds": state.train_seconds,
        "steps": state.steps_done,
        "tiles": tiles,
        "tiles_per_second": tiles / state.train_seconds if state.train_seconds > 0 else None,
        "phases": [p.describe() for p in phases],
        "parameters": int(net.count_params()),
    }
