"""``lggseg train`` and ``lggseg pretrain``: run a gin experiment into a run directory."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

import typer

from lggseg_cli.options import GinFiles, GinParams, apply_gin

RunDir = Annotated[
    Path | None,
    typer.Option(
        "--run-dir",
        help="Run directory; an existing run there is resumed. Default: runs/<config>-<timestamp>.",
        file_okay=False,
    ),
]


def train(gin_files: GinFiles = None, gin_params: GinParams = None, run_dir: RunDir = None) -> None:
    """Train (or fine-tune) a model as the gin files describe, e.g. [bold]--gin gin/le_focus.gin[/bold].

    Writes config.gin, history.csv, phase checkpoints, model.keras, the fitted stain normaliser,
    metrics.json and report.md into the run directory. Rerun with the same --run-dir to resume
    an interrupted run from its last finished epoch.
    """
    _run(gin_files, gin_params, run_dir, default_name="train")


def pretrain(gin_files: GinFiles = None, gin_params: GinParams = None, run_dir: RunDir = None) -> None:
    """Pretrain the 8-class GBM source FC-DenseNet, e.g. [bold]--gin gin/gbm_pretrain.gin[/bold].

    Name its model.keras with gbm_source.weights in a transfer experiment.
    """
    _run(gin_files or [Path("gin/gbm_pretrain.gin")], gin_params, run_dir, default_name="pretrain")


def _run(gin_files, gin_params, run_dir: Path | None, *, default_name: str) -> None:
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
    try:
        # A transfer experiment whose GBM source is not cached yet pretrains it first.
        train_with_source(train_fn, run_dir=run_dir)
    except TrainingDiverged as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(code=3) from None
    except KeyboardInterrupt:
        typer.secho(
            f"\ninterrupted; finished epochs are saved. Resume with: --run-dir {run_dir}",
            fg="yellow",
            err=True,
        )
        raise typer.Exit(code=130) from None
    except (ValueError, FileNotFoundError) as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(code=2) from None
