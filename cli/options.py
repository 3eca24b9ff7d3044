"""Options shared by the commands that assemble components with gin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

GinFiles = Annotated[
    list[Path],
    typer.Option(
        "--gin",
        help="gin config file; repeatable, later files override earlier ones.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]
GinParams = Annotated[
    list[str],
    typer.Option(
        "--gin-param",
        help="A single gin binding such as 'train.seed = 3'; repeatable, applied after the files.",
    ),
]


def apply_gin(files: list[Path] | None, params: list[str] | None) -> None:
    """Parse the gin files and bindings, turning a bad binding into a clean CLI error."""
    from lggseg import config

    try:
        config.parse(files=files or [], params=params or [])
    except (ValueError, FileNotFoundError) as err:
        raise typer.BadParameter(str(err), param_hint="--gin/--gin-param") from err


# Sliding-window options shared by `evaluate` and `predict`.
Tile = Annotated[
    int | None, typer.Option("--tile", help="Tile size (default: the model's fixed input, else 256).")
]
Overlap = Annotated[float, typer.Option("--overlap", help="Tile overlap fraction in [0, 1).")]
BatchSize = Annotated[int, typer.Option("--batch-size", help="Tiles per model call.")]
Tta = Annotated[bool, typer.Option("--tta", help="Average the 8 flips/rotations (8x slower).")]
