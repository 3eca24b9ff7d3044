"""Whole-slide inputs of ``lggseg predict``: SVS / NDPI / tiled pyramidal TIFF.

``lggseg predict`` hands every slide (see :func:`lggseg.slides.is_slide`) to
:func:`predict_slide_command`, which writes ``<stem>_classes.tif`` (pyramidal class map,
palette colour: viewers show the class colours, values stay class indices),
``<stem>_classes.png`` (colour preview), ``<stem>_areas.json`` and
``<stem>_classes.geojson`` (QuPath annotations) into the output folder, and with
``--probabilities`` ``<stem>_prob_<CLASS>.tif`` per class (greyscale pyramids of
``round(p * 255)``).
"""

from __future__ import annotations

from pathlib import Path

from lggseg_cli.errors import cli_errors


@cli_errors()
def predict_slide_command(
    model: Path,
    slide: Path,
    out: Path,
    level: int | None = None,
    mpp: float | None = None,
    tile: int | None = None,
    overlap: float = 0.25,
    batch_size: int = 8,
    tta: bool = False,
    probabilities: bool = False,
    geojson_features: str = "class",
    mask=None,
    trained=None,
    console=None,
):
    """Segment one whole-slide image with a run directory's (or .keras file's) model.

    Args:
      model: a run directory or ``.keras`` file (ignored when ``trained`` is given).
      slide: the slide file.
      out: the output folder.
      level, mpp: the processing resolution: a pyramid level, or this many microns per
        pixel (a stored level within 10 %, else resampled); default the run's recorded mpp,
        else level 0.
      tile, overlap, batch_size, tta: as for image prediction.
      probabilities: also write the per-class probability pyramids.
      geojson_features: ``'class'`` (one annotation per class) or ``'region'`` (one per
        connected region, with its area).
      mask: a :class:`lggseg.evaluation.prediction_mask.PredictionMask` (default: HSV tissue and ink).
      trained: an already loaded :class:`lggseg.evaluation.TrainedModel` (when the
        predict command has loaded it for several inputs).
      console: a rich console for progress and the summary (default: stderr).

    Returns:
      The :class:`lggseg.slides.SlideResult`.

    Raises:
      typer.Exit: code 2 with the message, for bad options, unreadable slides or models.
    """
    from lggseg.evaluation import load_trained_model
    from lggseg.evaluation.prediction_mask import PredictionMask
    from lggseg.progress import progress_bar, stderr_console
    from lggseg.slides import predict_slide

    console = console or stderr_console()
    if level is not None and mpp is not None:
        raise ValueError("give --level or --mpp, not both.")
    trained = trained or load_trained_model(model)
    if level is None and mpp is None and trained.resolution.mpp is not None:
        mpp = trained.resolution.mpp  # the resolution the model was trained at
        console.print(f"[dim]{slide.name}: at the run's {mpp:.3g} um/px (--level/--mpp override)[/dim]")
    elif level is None and mpp is None and trained.resolution.scale != 1.0:
        console.print(
            f"[yellow]{slide.name}: the model was trained at scale {trained.resolution.scale:g} of images of unknown "
            f"resolution; predicting at level 0. Choose the level that matches with --level or --mpp.[/yellow]"
        )
    with progress_bar(console=console) as bar:
        task = bar.add_task(f"tissue tiles of {slide.name}", total=None)
        result = predict_slide(
            model=trained.model, slide_path=slide, out_dir=out, level=level or 0, mpp=mpp, tile_size=tile,
            overlap=overlap, batch_size=batch_size, normalizer=trained.normalizer, scheme=trained.scheme,
            tta=tta, probabilities=probabilities, geojson_features=geojson_features,
            mask=PredictionMask() if mask is None else mask,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    mpp_text = f", {result.mpp[0]:.3f} um/px" if result.mpp else ", resolution unknown"
    where = (f"level {result.level}" if result.resampled_from is None
             else f"level {result.resampled_from} resampled")
    console.print(
        f"{slide.name}: {where} ({result.shape[1]}x{result.shape[0]} px{mpp_text}), "
        f"{result.tiles_predicted}/{result.tiles_total} tissue tiles, {result.seconds:.1f} s "
        f"({result.megapixels_per_second:.1f} Mpx/s)"
    )
    unit = "mm²" if result.area_unit == "mm2" else "px"
    console.print("  " + ", ".join(f"{c} {a:.4g} {unit}" for c, a in result.areas.items()))
    pixels = result.shape[0] * result.shape[1]
    console.print(f"  Background by the mask: {result.excluded['non_tissue'] / pixels:.1%} not tissue, "
                  f"{result.excluded['ink'] / pixels:.1%} ink")
    names = [result.class_map.name, result.preview.name, result.areas_json.name, result.geojson.name]
    names += [p.name for p in result.probability_maps]
    console.print(f"  wrote {', '.join(names)} to {out}")
    return result
