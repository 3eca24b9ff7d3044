"""``lggseg masks``: tissue-aware index masks for cropped region images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lggseg_cli.errors import cli_errors


@cli_errors()
def masks(
    crops_dir: Annotated[
        Path,
        typer.Argument(
            help="Folder of cropped region images whose names carry the class (e.g. 231920_04_LE1_x.png).",
            exists=True,
            file_okay=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", help="Folder for the masks (same stem, .png); created if missing."),
    ],
    pattern: Annotated[str, typer.Option(help="Shell-style glob on the image stems, e.g. '231920_*'.")] = "*",
    saturation_min: Annotated[
        int, typer.Option(help="Tissue needs HSV saturation (0-255) above this.")
    ] = 15,
    value_max: Annotated[int, typer.Option(help="Tissue needs HSV value (0-255) below this.")] = 240,
    kernel_size: Annotated[
        int, typer.Option(help="Side of the square morphological close, then open (0: none).")
    ] = 5,
) -> None:
    """Write tissue-aware index masks for cropped region images.

    The class comes from the file name: a token LE, IT or CT between '_' or
    '-', one trailing digit allowed, any case. Tissue pixels (HSV saturation
    > 15 and value < 240, then a 5x5 close and a 5x5 open) get that class,
    the rest Background. Names with no class token, or two, are skipped.

    Masks are palette PNGs with values BG=0, CT=1, LE=2, IT=3. To train on
    them, put the crops in DIR/images and the masks in DIR/masks, and set
    folder_source.directory = DIR.
    """
    from lggseg.data import write_crop_masks

    written, skipped = write_crop_masks(
        crops_dir,
        out,
        pattern=pattern,
        saturation_min=saturation_min,
        value_max=value_max,
        kernel_size=kernel_size,
    )
    width = max((len(w.name) for w in written), default=0)
    for w in written:
        typer.echo(f"{w.name:<{width}}  {w.code:<2}  tissue {100 * w.tissue_fraction:5.1f} %  -> {w.path}")
    for name, reason in skipped:
        typer.echo(f"skipped {name}: {reason}", err=True)
    typer.echo(f"{len(written)} masks written to {out}, {len(skipped)} files skipped.")
    if not written:
        raise typer.Exit(code=1)
