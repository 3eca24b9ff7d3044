"""``lggseg predict``: index mask, colour mask and overlay per image, by sliding-window inference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lggseg_cli.errors import cli_errors
from lggseg_cli.options import BatchSize, Overlap, Tile, Tta

Target = Annotated[
    Path,
    typer.Argument(help="A run directory (model.keras, normalizer.json, classes.tsv) or a .keras model file."),
]
Images = Annotated[
    list[Path],
    typer.Argument(help="Image files (JPEG, PNG, TIFF) of any size, slides (SVS, NDPI, pyramidal TIFF), or folders "
                        "of them (not searched recursively).", exists=True),
]
Out = Annotated[Path, typer.Option("--out", help="Output folder.", file_okay=False)]
Alpha = Annotated[float, typer.Option("--alpha", help="Opacity of the class colours in the overlay.")]
Level = Annotated[int | None, typer.Option("--level", help="Slide pyramid level to predict at (slides only).")]
Mpp = Annotated[
    float | None,
    typer.Option("--mpp", help="Microns per pixel to predict slides at: a level within 10 %, else resampled "
                 "(default: the run's recorded resolution; slides only)."),
]
Probabilities = Annotated[
    bool,
    typer.Option(
        "--probabilities",
        help="Slides only: also write <stem>_prob_<CLASS>.tif per class, a greyscale pyramid of round(p * 255).",
    ),
]
TissueMask = Annotated[
    str,
    typer.Option("--tissue-mask",
                 help="Pixels that are not tissue become Background: 'hsv' (saturation and brightness), 'otsu' "
                      "(grey level; for slides showing glass) or 'none'."),
]
InkMask = Annotated[
    bool,
    typer.Option("--ink-mask/--no-ink-mask",
                 help="Pen and marker ink (near-black, or green to blue) becomes Background; counted in the summary."),
]
GeojsonFeatures = Annotated[
    str,
    typer.Option("--geojson-features",
                 help="Slide GeoJSON layout: 'class' (one annotation per class) or 'region' (one per connected "
                      "region, with its area)."),
]


@cli_errors()
def predict(
    target: Target,
    images: Images,
    out: Out,
    tile: Tile = None,
    overlap: Overlap = 0.25,
    batch_size: BatchSize = 8,
    tta: Tta = False,
    alpha: Alpha = 0.45,
    level: Level = None,
    mpp: Mpp = None,
    probabilities: Probabilities = False,
    geojson_features: GeojsonFeatures = "class",
    tissue_mask: TissueMask = "hsv",
    ink_mask: InkMask = True,
) -> None:
    """Segment images: writes <stem>_mask.png (class indices), <stem>_colour.png and <stem>_overlay.png.

    The run's stain normaliser is applied to each image; tiles overlap and are blended
    with a Gaussian window, so there are no seams at tile borders. Whole-slide images (SVS,
    NDPI, tiled pyramidal TIFF) are streamed tile by tile with bounded memory and give a
    pyramidal class-map TIFF (class indices shown in the class colours), a PNG preview,
    per-class areas and QuPath GeoJSON; --probabilities adds a pyramid per class.
    """
    from lggseg.data import read_image
    from lggseg.data.tissue import TISSUE_METHODS
    from lggseg.evaluation import SlidingWindowPredictor, load_trained_model
    from lggseg.evaluation.prediction_mask import PredictionMask
    from lggseg.progress import progress_bar, stderr_console
    from lggseg.slides import is_slide
    from lggseg.slides.geojson_export import FEATURE_LAYOUTS
    from lggseg_cli.predict_slide import predict_slide_command

    console = stderr_console()
    if geojson_features not in FEATURE_LAYOUTS:  # before any image is predicted
        raise ValueError(f"--geojson-features {geojson_features!r}; choose one of {', '.join(FEATURE_LAYOUTS)}.")
    if tissue_mask not in (*TISSUE_METHODS, "none"):  # before the model is loaded
        raise ValueError(f"--tissue-mask {tissue_mask!r}; choose one of {', '.join(TISSUE_METHODS)}, none.")
    mask = PredictionMask(tissue=None if tissue_mask == "none" else tissue_mask, ink=ink_mask)
    images = _inputs(images)
    stems = [p.stem for p in images]
    if len(set(stems)) != len(stems):
        repeated = sorted({s for s in stems if stems.count(s) > 1})
        raise ValueError(f"images share file stems {repeated}; their outputs would overwrite each other.")
    trained = load_trained_model(target)
    background = mask.background(trained.scheme)
    predictor = SlidingWindowPredictor(
        model=trained.model, tile_size=tile, overlap=overlap, batch_size=batch_size, tta=tta,
        normalizer=trained.normalizer,
    )
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"--alpha must lie in [0, 1], got {alpha}.")
    for note in trained.notes:
        console.print(f"[dim]{note}[/dim]")
    if not all(is_slide(path) for path in images):
        console.print(f"[yellow]{_assumed_resolution(trained.resolution)}[/yellow]")
    out.mkdir(parents=True, exist_ok=True)
    failed, slides = [], 0
    with progress_bar(console=console) as bar:
        overall = bar.add_task("images", total=len(images))
        tiles = bar.add_task("tiles", total=None)
        for path in images:
            bar.update(tiles, description=f"tiles of {path.name}", completed=0, total=None)
            if is_slide(path):
                slides += 1
                bar.update(tiles, visible=False)  # the slide shows its own bar of tissue tiles
                predict_slide_command(
                    model=target, slide=path, out=out, level=level, mpp=mpp, tile=tile, overlap=overlap,
                    batch_size=batch_size, tta=tta, probabilities=probabilities,
                    geojson_features=geojson_features, mask=mask, trained=trained,
                    console=console,
                )
            else:
                bar.update(tiles, visible=True)
                try:
                    image = read_image(path)
                except (ValueError, FileNotFoundError) as err:
                    console.print(f"[red]skipped {path}: {err}[/red]")
                    failed.append(path)
                else:
                    _predict_image(image, path=path, out=out, predictor=predictor, scheme=trained.scheme,
                                   scale=trained.resolution.scale, mask=mask, background=background, alpha=alpha, console=console,
                                   progress=lambda done, total: bar.update(tiles, completed=done, total=total))
            bar.advance(overall)
    # A slide lists its own files as it finishes; an image writes a mask, a colour mask and an overlay.
    done = [f"{len(images) - len(failed) - slides} image(s), 3 files each"] if len(images) > slides else []
    done += [f"{slides} slide(s)"] if slides else []
    typer.echo(f"predicted {' and '.join(done) or 'nothing'} into {out} (classes: {', '.join(trained.scheme.codes)})")
    if failed:
        raise typer.Exit(code=1)


def _assumed_resolution(resolution) -> str:
    """What image prediction assumes: plain images (PNG, JPEG, untiled TIFF) carry no resolution lggseg reads."""
    how = "read as they are" if resolution.scale == 1 else f"resampled by {resolution.scale:g} as in training"
    if resolution.mpp is None:
        return (f"Plain images carry no resolution, and the run did not record its own: they are taken to be at "
                f"the magnification of its training images and {how}. Resample images at another "
                f"magnification first.")
    return (f"Plain images carry no resolution: they are taken to be at {resolution.mpp / resolution.scale:.3g} "
            f"um/px, as the run's training images were, and {how} (the model's {resolution.mpp:.3g} um/px). "
            f"Resample images at another magnification first, or predict the slide.")


def _inputs(paths: list[Path]) -> list[Path]:
    """The files to predict: files as given, folders replaced by their images and slides (sorted)."""
    from lggseg.data.io import IMAGE_SUFFIXES
    from lggseg.slides.reader import SLIDE_SUFFIXES

    suffixes = set(IMAGE_SUFFIXES) | set(SLIDE_SUFFIXES)
    files = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted(p for p in path.iterdir()
                       if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes)
        if not found:
            raise ValueError(f"{path} holds no image or slide (suffixes {', '.join(sorted(suffixes))}).")
        files += found
    return files


def _predict_image(image, *, path: Path, out: Path, predictor, scheme, scale: float, mask, background: int,
                   alpha: float, console, progress) -> None:
    """Write one image's class map, colour map and overlay, and print its class shares and what was masked.

    The network sees the image resampled by the run's training ``scale``; its class map is
    mapped back (nearest) to the image's own size, where glass and ink are masked.
    """
    import numpy as np
    from PIL import Image

    from lggseg.data.resolution import resample, scaled_size
    from lggseg.evaluation import colourize, overlay

    probs = predictor.predict(resample(image, size=scaled_size(image.shape, scale)), progress=progress)
    own_size = (image.shape[1], image.shape[0])
    predicted = resample(np.argmax(probs, axis=-1).astype(np.uint8), size=own_size, labels=True)
    excluded = mask.excluded(image)
    classes = mask.apply(predicted, excluded, background=background)
    Image.fromarray(classes).save(out / f"{path.stem}_mask.png")
    Image.fromarray(colourize(classes, scheme=scheme)).save(out / f"{path.stem}_colour.png")
    Image.fromarray(overlay(image, classes, scheme=scheme, alpha=alpha)).save(out / f"{path.stem}_overlay.png")
    shares = np.bincount(classes.ravel(), minlength=scheme.num_classes) / classes.size
    counts = excluded.counts()
    masked = f" (Background by the mask: {counts['non_tissue'] / classes.size:.1%} not tissue, " \
             f"{counts['ink'] / classes.size:.1%} ink)"
    console.print(f"{path.name}: " + ", ".join(f"{c} {s:.1%}" for c, s in zip(scheme.codes, shares)) + masked)
