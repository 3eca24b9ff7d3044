"""``lggseg train`` and ``lggseg pretrain``: run a gin experiment into a run directory."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

import typer

from lggseg_cli.errors import cli_errors
from lggseg_cli.options import GinFiles, GinParams, apply_gin

RunDir = Annotated[
    Path | None,
    typer.Option(
        "--run-dir",
        help="Run directory; an existing run there is resumed. Default: runs/<config>-<timestamp>.",
        file_okay=False,
    ),
]
Overwrite = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Write into a --run-dir that is not an lggseg run (or replace the run there).",
    ),
]
AllowConfigChange = Annotated[
    bool,
    typer.Option(
        "--allow-config-change",
        help="Resume a run although the configuration differs from the one it started with.",
    ),
]


def train(
    gin_files: GinFiles = None,
    gin_params: GinParams = None,
    run_dir: RunDir = None,
    overwrite: Overwrite = False,
    allow_config_change: AllowConfigChange = False,
) -> None:
    """Train (or fine-tune) a model as the gin files describe, e.g. [bold]--gin gin/le_focus.gin[/bold].

    Writes config.gin, history.csv, phase checkpoints, model.keras, the fitted stain normaliser,
    metrics.json and report.md into the run directory. Rerun with the same --run-dir to resume
    an interrupted run from its last finished epoch.
    """
    _run(gin_files, gin_params, run_dir, default_name="train", overwrite=overwrite,
         allow_config_change=allow_config_change)


def pretrain(
    gin_files: GinFiles = None,
    gin_params: GinParams = None,
    run_dir: RunDir = None,
    overwrite: Overwrite = False,
    allow_config_change: AllowConfigChange = False,
) -> None:
    """Pretrain the 8-class GBM source FC-DenseNet, e.g. [bold]--gin gin/gbm_pretrain.gin[/bold].

    Name its model.keras with gbm_source.weights in a transfer experiment.
    """
    _run(gin_files or [Path("gin/gbm_pretrain.gin")], gin_params, run_dir, default_name="pretrain",
         overwrite=overwrite, allow_config_change=allow_config_change)


def _run(gin_files, gin_params, run_dir: Path | None, *, default_name: str, overwrite: bool,
         allow_config_change: bool) -> None:
    import gin

    if not gin_files:
        raise typer.BadParameter("name at least one gin file, e.g. --gin gin/le_focus.gin", param_hint="--gin")
    apply_gin(gin_files, gin_params)
    from lggseg.training import TrainingDiverged, train_with_source

    if run_dir is None:
        stem = "+".join(Path(f).stem for f in gin_files) if gin_files else default_name
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir = Path("runs") / f"{stem}-{stamp}"
    typer.echo(f"run directory: {run_dir}  (rerun with --run-dir {run_dir} to resume)", err=True)
    train_fn = gin.get_configurable("lggseg.training.train")
    hint = f"finished epochs are saved. Resume with: --run-dir {run_dir}"
    with cli_errors(exit_codes={TrainingDiverged: 3}, interrupt_hint=hint):
        # A transfer experiment whose GBM source is not cached yet pretrains it first.
        train_with_source(train_fn, run_dir=run_dir, overwrite=overwrite, allow_config_change=allow_config_change)
