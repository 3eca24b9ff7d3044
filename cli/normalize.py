"""``lggseg normalize``: stain-normalise image files to a reference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lggseg_cli.errors import cli_errors
from lggseg_cli.options import GinFiles, GinParams, apply_gin

_METHODS = "macenko, staintools-macenko, staintools-vahadane, reinhard, none"

Images = Annotated[
    list[Path],
    typer.Argument(help="Image files to normalise.", exists=True, dir_okay=False, readable=True),
]
Out = Annotated[
    Path,
    typer.Option("--out", help="Output folder: normalised images (same names) and normalizer.json.", file_okay=False),
]
Method = Annotated[str, typer.Option("--method", help=f"Stain normalisation method: {_METHODS}.")]
Reference = Annotated[
    Path | None,
    typer.Option(
        "--reference",
        help="Reference image whose stain the images take. Default: chosen among IMAGES by --reference-rule.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]
ReferenceRule = Annotated[
    str,
    typer.Option("--reference-rule", help="Rule choosing the reference when --reference is not given: median-stain, most-tissue."),
]


@cli_errors()
def normalize(
    images: Images,
    out: Out,
    method: Method = "macenko",
    reference: Reference = None,
    reference_rule: ReferenceRule = "median-stain",
    gin_files: GinFiles = None,
    gin_params: GinParams = None,
) -> None:
    """Normalise the stain of IMAGES to a reference, e.g. [bold]--method macenko --reference ref.jpg a.jpg b.jpg --out norm/[/bold].

    Prints one line per image: normalised, or passed through unchanged and why (a white or
    background-only image, too little tissue, degenerate stain vectors). Method parameters can
    be set with gin, e.g. --gin-param "macenko.beta = 0.2".
    """
    if gin_files or gin_params:
        apply_gin(gin_files, gin_params)
    import gin
    from PIL import Image

    from lggseg.data.io import read_image
    from lggseg.stain import NORMALIZERS, choose_reference

    _check_options(images, out=out, method=method, methods=NORMALIZERS)
    # Through gin, so that bindings such as macenko.beta apply (gin names: '-' -> '_').
    gin_name = "identity" if method == "none" else method.replace("-", "_")
    normalizer = gin.get_configurable(f"lggseg.stain.{gin_name}")()

    loaded = None
    if reference is not None:
        ref_image, ref_name = read_image(reference), str(reference)
    else:
        loaded = [read_image(p) for p in images]
        index = choose_reference(loaded, rule=reference_rule)
        ref_image, ref_name = loaded[index], str(images[index])
        typer.echo(f"reference: {ref_name} (rule {reference_rule})")
    try:
        normalizer.fit(ref_image)
    except ValueError as err:
        raise ValueError(f"{ref_name}: {err}") from err
    normalizer.reference_name = ref_name

    out.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(images):
        image = loaded[i] if loaded is not None else read_image(path)
        result = normalizer.transform(image)
        options = {"quality": 95} if path.suffix.lower() in (".jpg", ".jpeg") else {}
        Image.fromarray(result).save(out / path.name, **options)
        reason = normalizer.last_passthrough[0]
        typer.echo(f"{path.name}: normalised" if reason is None else f"{path.name}: passed through ({reason})")
    saved = normalizer.save(out / "normalizer.json")
    typer.echo(
        f"{normalizer.transformed_count} normalised, {normalizer.passthrough_count} passed through; "
        f"{method} normaliser saved to {saved}"
    )


def _check_options(images: list[Path], *, out: Path, method: str, methods) -> None:
    """Usage errors found before any image is read: an unknown method, colliding or clobbered outputs."""
    if method not in methods:
        raise typer.BadParameter(f"unknown method {method!r}; valid methods: {', '.join(methods)}.", param_hint="--method")
    names = [p.name for p in images]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise typer.BadParameter(f"output names would collide: {', '.join(repeated)}", param_hint="IMAGES")
    out_resolved = out.resolve()
    clobbered = [str(p) for p in images if p.resolve().parent == out_resolved]
    if clobbered:
        raise typer.BadParameter(f"--out {out} holds the inputs {', '.join(clobbered)}; choose another folder.", param_hint="--out")
