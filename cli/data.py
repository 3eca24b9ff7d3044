"""``lggseg data``: make and inspect data sets."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from lggseg_cli.errors import cli_errors

app = typer.Typer(help="Make and inspect data sets.", no_args_is_help=True)


class Stain(str, enum.Enum):
    lgg = "lgg"
    gbm = "gbm"


@app.command("synth")
@cli_errors()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write images/, masks/ and palette.tsv into.")],
    classes: Annotated[
        int, typer.Option("--classes", help="4 (BG, CT, LE, IT) or 8 (IvyGAP, with the CT sub-regions).")
    ] = 4,
    count: Annotated[int, typer.Option("--count", help="Number of tiles.", min=1)] = 32,
    size: Annotated[int, typer.Option("--size", help="Tile side in pixels.", min=32)] = 256,
    seed: Annotated[int, typer.Option("--seed", help="Seed; tile i depends on (seed, i) only.", min=0)] = 0,
    stain: Annotated[
        Stain, typer.Option("--stain", help="Stain preset: 'lgg' (pinker) or 'gbm' (purple-blue).")
    ] = Stain.lgg,
) -> None:
    """Write synthetic H&E tiles with exact masks (the embedded default data) to a folder.

    Images are composed in optical-density space from a hematoxylin/eosin stain matrix;
    nuclei, texture and region layout depend on the class. Prints the class shares.
    """
    if classes not in (4, 8):
        raise typer.BadParameter(f"--classes must be 4 or 8, got {classes}.", param_hint="--classes")
    from lggseg.data.synthetic import SyntheticSource, write_dataset

    source = SyntheticSource(count=count, size=size, num_classes=classes, seed=seed, stain=stain.value)
    write_dataset(out, source=source)
    typer.echo(
        f"wrote {len(source)} tiles of {size}x{size} ({classes} classes, {stain.value} stain) to {out}"
    )
    typer.echo("class shares:")
    for code, share in source.class_shares().items():
        typer.echo(f"  {code:<6} {100 * share:6.2f} %")
