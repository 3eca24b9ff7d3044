"""Preparing a run: its directory and state, the split, the model, the stain normaliser.

Each step is a small function :func:`prepare_run` calls in order. Nothing is written into
the run directory until the model has been built (or its checkpoint loaded) and checked
against the data, so a run that cannot start leaves no partial run behind.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lggseg.classes import ClassScheme, write_palette
from lggseg.config import config_changes
from lggseg.data.folds import FoldSplit
from lggseg.data.resolution import Resolution
from lggseg.data.source import DataSource
from lggseg.stain.base import StainNormalizer
from lggseg.training import run_dir as rd
from lggseg.training.console import say

__all__ = [
    "PreparedRun",
    "check_classes",
    "fit_normalizer",
    "load_or_build_model",
    "open_run_dir",
    "process_run_dir",
    "split_data",
    "write_run_files",
]


@dataclasses.dataclass
class PreparedRun:
    """What :func:`lggseg.training.trainer.prepare_run` hands on: an opened run with its model.

    Attributes:
      dir: the run directory (see :mod:`lggseg.training.run_dir`).
      state: the progress written to ``state.json`` after every epoch.
      scheme: the classes of the data and the model.
      train_src, val_src: the two sides of the split.
      test_src: the held-out test fold (scored once, at the end), or ``None``.
      net: the model being trained (built, or loaded from the checkpoint).
      normalizer: the fitted stain normaliser, or ``None``.
    """

    dir: Path
    state: rd.RunState
    scheme: ClassScheme
    train_src: DataSource
    val_src: DataSource
    net: keras.Model
    normalizer: StainNormalizer | None
    test_src: DataSource | None


def process_run_dir(run_dir: str | Path) -> Path:
    """The run directory this process writes."""
    from lggseg.training.distribution import process_index

    rank = process_index()
    # In a multi-host job every process trains, but only the first owns the run directory;
    # the others write beside it, so no file is written by two processes.
    return Path(run_dir) / f"process-{rank}" if rank else Path(run_dir)


def open_run_dir(
    run_dir: str | Path,
    *,
    requested_config: str,
    overwrite: bool = False,
    allow_config_change: bool = False,
) -> tuple[Path, rd.RunState | None]:
    """The directory this process writes (marked as an lggseg run) and the state of a run there.

    A folder that holds files but no lggseg run is refused before anything is written into
    it, unless ``overwrite`` (which also clears a run that was there). A run that has
    trained resumes only with the configuration it started with, up to
    :data:`lggseg.config.HARMLESS_BINDINGS`, unless ``allow_config_change``.

    Raises:
      ValueError: naming the folder and what to do.
    """
    run_dir = process_run_dir(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"--run-dir {run_dir} is a file; name a folder.")
    run_dir.mkdir(parents=True, exist_ok=True)
    if overwrite:
        rd.clear_run_files(run_dir)
    marker = rd.read_marker(run_dir)
    # Runs from before the marker existed are recognised by their state.json.
    if marker is None and not overwrite and not (run_dir / "state.json").is_file():
        held = sorted(p.name for p in run_dir.iterdir() if p.name not in rd.COMPANION_FILES)
        if held:
            raise ValueError(
                f"--run-dir {run_dir} is not an lggseg run directory: it holds {', '.join(held[:5])}"
                f"{' ...' if len(held) > 5 else ''}, and training would overwrite files there. Name a "
                f"new or empty folder, or pass --overwrite (train.overwrite = True) to write into it."
            )
    state = rd.RunState.load(run_dir)
    if marker is not None and state is not None and state.has_progress:
        changes = config_changes(marker["requested_config"], requested_config)
        if changes and not allow_config_change:
            raise ValueError(
                f"--run-dir {run_dir} holds a run started with another configuration; resuming it "
                f"would mix two experiments. Changed bindings (- recorded, + now):\n  "
                + "\n  ".join(changes)
                + "\nRerun with the recorded configuration, use a new --run-dir, or pass "
                "--allow-config-change (train.allow_config_change = True) to resume anyway."
            )
        if changes:
            say(f"resuming {run_dir} with a changed configuration (allowed): " + "; ".join(changes))
            marker = None  # record the configuration it goes on with
    if marker is None:
        rd.write_marker(run_dir, requested_config=requested_config)
    return run_dir, state


def split_data(
    data: DataSource,
    *,
    validation: DataSource | None,
    splitter: Callable[..., tuple[np.ndarray, np.ndarray]],
    val_fraction: float,
    seed: int,
    run_dir: Path,
    test_fold: Callable[[DataSource], FoldSplit] | None = None,
) -> tuple[DataSource, DataSource, DataSource | None, dict[str, Any]]:
    """Training, validation and test sources, and the split record (checked against ``split.json``).

    With ``test_fold`` (e.g. :func:`lggseg.data.cv_fold`), its test groups are set aside
    first and used for nothing but the final scores; ``splitter(rest, val_fraction=...,
    seed=...)`` (default :func:`lggseg.data.split_by_group`) then splits the remaining groups
    into training and validation, and validation alone chooses (early stopping, the decision
    rule). An explicit ``validation`` source skips the splitter.

    Raises:
      ValueError: ``validation`` with other classes than ``data``, ``validation`` together
        with ``test_fold``, or a split that differs from the run's ``split.json``.
    """
    test_src, fold_record = None, None
    if test_fold is not None:
        if validation is not None:
            raise ValueError(
                "train.validation and train.test_fold are both set; with a test fold the validation "
                "groups are split from the remaining data (train.val_fraction): unset train.validation."
            )
        fold = test_fold(data)
        test_src, fold_record = data.subset(fold.test), fold.record()
        data = data.subset(fold.rest)
    if validation is not None:
        if validation.scheme != data.scheme:
            raise ValueError(
                f"Training classes {data.scheme.codes} differ from validation classes "
                f"{validation.scheme.codes}; give both sources the same mapping."
            )
        train_src, val_src = data, validation
    else:
        train_idx, val_idx = splitter(data, val_fraction=val_fraction, seed=seed)
        train_src, val_src = data.subset(train_idx), data.subset(val_idx)
    split: dict[str, Any] = {"train": train_src.names, "validation": val_src.names}
    if test_src is not None:
        split.update(test=test_src.names, cross_validation=fold_record)
    path = run_dir / "split.json"
    if path.is_file():
        if json.loads(path.read_text()) != split:
            raise ValueError(
                f"The data split differs from the one recorded in {path} (the data or the split "
                f"settings changed); resume with the same data, or use a new --run-dir."
            )
    return train_src, val_src, test_src, split


def load_or_build_model(
    *, run_dir: Path, state: rd.RunState | None, model: Callable[[], keras.Model]
) -> tuple[keras.Model, rd.RunState]:
    """The checkpoint of a run to resume, else a freshly built model and a fresh state."""
    from lggseg.training.distribution import distribution_scope

    from lggseg.models import load_model

    checkpoint = run_dir / "checkpoint.keras"
    if state is not None and checkpoint.is_file():
        try:
            with distribution_scope():
                net = load_model(checkpoint)
        except ValueError as err:
            return _resume_from_last_phase(run_dir, state=state, damaged=err)
        say(f"resuming {run_dir}: {state.phases_done} phase(s) and {state.epochs_done} epoch(s) of the next done")
        return net, state
    with distribution_scope():
        net = model()
    # Nothing was checkpointed (or no run was here): start afresh.
    return net, rd.RunState()


def _resume_from_last_phase(run_dir: Path, *, state: rd.RunState, damaged: ValueError) -> tuple[keras.Model, rd.RunState]:
    """A damaged checkpoint: go on from ``phase_K.keras``, the end of the last finished phase."""
    from lggseg.models import load_model
    from lggseg.training.distribution import distribution_scope

    last = run_dir / f"phase_{state.phases_done}.keras"
    if state.phases_done == 0 or not last.is_file():
        raise ValueError(
            f"{damaged} No phase of this run had finished, so there is nothing to resume from: delete "
            f"{run_dir} (or use another --run-dir) to start afresh."
        ) from None
    with distribution_scope():
        net = load_model(last)
    say(f"warning: {damaged} Resuming {run_dir} from {last.name} instead: the {state.epochs_done} finished "
        f"epoch(s) of phase {state.phases_done + 1} are trained again.")
    state.epochs_done, state.early_stop_best, state.early_stop_wait = 0, None, 0
    return net, state


def check_classes(net: keras.Model, data: DataSource) -> None:
    """Refuse a model whose output classes do not match the data's, before any training."""
    out = net.output_shape[-1]
    if out != data.scheme.num_classes:
        raise ValueError(
            f"The model predicts {out} classes but the data has {data.scheme.num_classes} "
            f"({', '.join(data.scheme.codes)}); give the data source a class mapping "
            f"(e.g. folder_source.mapping = @ivygap_to_lgg()) or the model num_classes="
            f"{data.scheme.num_classes}."
        )


def warn_blank_images(source: DataSource, *, tissue_below: float = 0.01, labelled_above: float = 0.05) -> list[str]:
    """Say which images look blank (almost no tissue by the HSV rule) while their masks label tissue.

    An all-white or unreadable-looking image with tumour labels teaches the model that glass
    is tumour; it is usually a wrong file or a failed export. Returns the names.
    """
    from lggseg.data.tissue import detect_tissue
    from lggseg.evaluation.metrics import is_background

    labelled = [i for i, code in enumerate(source.scheme.codes) if not is_background(code)]
    blank = []
    for sample in source:
        tissue = float(detect_tissue(sample.image).mean())
        labels = float(np.isin(sample.mask, labelled).mean())
        if tissue < tissue_below and labels > labelled_above:
            blank.append(f"{sample.name} (tissue {tissue:.1%}, labelled {labels:.1%})")
    if blank:
        say(f"warning: {len(blank)} training image(s) look blank but their masks label tissue: "
            f"{', '.join(blank[:5])}{' ...' if len(blank) > 5 else ''}; check that image and mask files match.")
    return blank


def fit_normalizer(
    normalizer: StainNormalizer | None,
    *,
    reference: str | Path | np.ndarray | None,
    train_src: DataSource,
    run_dir: Path,
) -> StainNormalizer | None:
    """Fit ``normalizer`` on the reference (or reload the run's ``normalizer.json``) and save it."""
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
        # An in-memory reference (e.g. the synthetic GBM-lab tile of the source stage) has no file name.
        image, name = reference, f"an in-memory {reference.shape[1]}x{reference.shape[0]} image"
    else:
        from lggseg.data.io import read_image

        image, name = read_image(reference), str(reference)
    normalizer.fit(image)
    normalizer.reference_name = name
    normalizer.save(saved)
    say(f"stain normaliser: {normalizer.method}, reference {name}")
    return normalizer


def write_run_files(*, run_dir: Path, split: dict[str, Any], data: DataSource, state: rd.RunState) -> None:
    """The files a run has from its start (``split.json``, ``classes.tsv``, ``resolution.json``), history cut to ``state``."""
    if not (run_dir / "split.json").is_file():
        rd.write_json_atomic(run_dir / "split.json", split)
    write_palette(data.scheme, run_dir / "classes.tsv")
    Resolution.of(data).write(run_dir)
    # Drop history rows of epochs that ran but were never checkpointed.
    rd.truncate_history(run_dir, phases_done=state.phases_done, epochs_done=state.epochs_done)
    state.status = "running"
