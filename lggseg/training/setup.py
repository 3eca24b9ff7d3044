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
    "split_data",
    "write_run_files",
]


@dataclasses.dataclass(frozen=True)
class PreparedRun:
    """What :func:`lggseg.training.trainer.prepare_run` hands on: an opened run with its model."""

    dir: Path
    state: rd.RunState
    scheme: ClassScheme
    train_src: DataSource
    val_src: DataSource
    net: keras.Model
    normalizer: StainNormalizer | None


def open_run_dir(run_dir: str | Path) -> tuple[Path, rd.RunState | None]:
    """The directory this process writes (created) and the state of a run already there."""
    from lggseg.training.distribution import process_index

    run_dir = Path(run_dir)
    rank = process_index()
    if rank:
        # In a multi-host job every process trains, but only the first owns the run
        # directory; the others write beside it, so no file is written by two processes.
        run_dir = run_dir / f"process-{rank}"
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir, rd.RunState.load(run_dir)


def split_data(
    data: DataSource,
    *,
    validation: DataSource | None,
    splitter: Callable[..., tuple[np.ndarray, np.ndarray]],
    val_fraction: float,
    seed: int,
    run_dir: Path,
) -> tuple[DataSource, DataSource, dict[str, list[str]]]:
    """Training and validation sources, and the split record (checked against ``split.json``).

    ``splitter(data, val_fraction=..., seed=...)`` returns training and validation indices
    (default :func:`lggseg.data.split_by_group`); an explicit ``validation`` source skips it.
    """
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
    split = {"train": train_src.names, "validation": val_src.names}
    path = run_dir / "split.json"
    if path.is_file():
        if json.loads(path.read_text()) != split:
            raise ValueError(
                f"The data split differs from the one recorded in {path} (the data or the split "
                f"settings changed); resume with the same data, or use a new --run-dir."
            )
    return train_src, val_src, split


def load_or_build_model(
    *, run_dir: Path, state: rd.RunState | None, model: Callable[[], keras.Model]
) -> tuple[keras.Model, rd.RunState]:
    """The checkpoint of a run to resume, else a freshly built model and a fresh state."""
    from lggseg.training.distribution import distribution_scope

    checkpoint = run_dir / "checkpoint.keras"
    if state is not None and checkpoint.is_file():
        import lggseg.losses  # noqa: F401  registers the losses a checkpoint was compiled with
        import lggseg.models  # noqa: F401

        with distribution_scope():
            net = keras.saving.load_model(checkpoint, compile=False)
        say(f"resuming {run_dir}: {state.phases_done} phase(s) and {state.epochs_done} epoch(s) of the next done")
        return net, state
    with distribution_scope():
        net = model()
    # Nothing was checkpointed (or no run was here): start afresh.
    return net, rd.RunState()


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
        image, name = reference, "<array>"
    else:
        from lggseg.data.io import read_image

        image, name = read_image(reference), str(reference)
    normalizer.fit(image)
    normalizer.reference_name = name
    normalizer.save(saved)
    say(f"stain normaliser: {normalizer.method}, reference {name}")
    return normalizer


def write_run_files(*, run_dir: Path, split: dict[str, Any], data: DataSource, state: rd.RunState) -> None:
    """The files a run has from its start (``split.json``, ``classes.tsv``), history cut to ``state``."""
    if not (run_dir / "split.json").is_file():
        rd.write_json_atomic(run_dir / "split.json", split)
    write_palette(data.scheme, run_dir / "classes.tsv")
    # Drop history rows of epochs that ran but were never checkpointed.
    rd.truncate_history(run_dir, phases_done=state.phases_done, epochs_done=state.epochs_done)
    state.status = "running"
