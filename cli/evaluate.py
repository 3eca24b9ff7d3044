"""``lggseg evaluate``: per-class metrics, the probability analysis and a report for a model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lggseg_cli.errors import cli_errors
from lggseg_cli.options import BatchSize, GinFiles, GinParams, Overlap, Tile, Tta, apply_gin

Target = Annotated[
    Path,
    typer.Argument(help="A run directory (model.keras, normalizer.json, classes.tsv) or a .keras model file."),
]
Data = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Folder with images/, masks/ and palette.tsv (the IvyGAP layout). Without it, the source "
        "is the gin binding 'evaluate.source'.",
        file_okay=False,
    ),
]
Out = Annotated[
    Path | None,
    typer.Option("--out", help="Output folder (default: <run dir>/eval-<data folder name>).", file_okay=False),
]
Baseline = Annotated[
    Path | None,
    typer.Option(
        "--baseline",
        help="Run directory or .keras model evaluated on the same data (or its metrics.json) to fill "
        "the report's change column.",
    ),
]
Pattern = Annotated[str, typer.Option("--pattern", help="Glob on image stems, e.g. 'W30-*'.")]
Decision = Annotated[
    Path | None,
    typer.Option(
        "--decision",
        help="A decision-rule JSON (DecisionRule.save), fitted on validation data, reported beside the argmax.",
        dir_okay=False,
        exists=True,
    ),
]


@cli_errors()
def evaluate(
    target: Target,
    data: Data = None,
    out: Out = None,
    baseline: Baseline = None,
    pattern: Pattern = "*",
    tile: Tile = None,
    overlap: Overlap = 0.25,
    batch_size: BatchSize = 8,
    tta: Tta = False,
    decision: Decision = None,
    gin_files: GinFiles = None,
    gin_params: GinParams = None,
) -> None:
    """Evaluate a model on annotated images: metrics.json, report.md and plots.

    Whole images of any size go through the sliding-window predictor with the run's stain
    normaliser. When the masks have the 8 IvyGAP classes and the model the 4 LGG classes,
    the 8 -> 4 mapping is applied (and said).
    """
    if gin_files or gin_params:
        apply_gin(gin_files, gin_params)
    from lggseg.evaluation import DecisionRule, load_trained_model, write_report
    from lggseg.progress import stderr_console

    console = stderr_console()
    trained = load_trained_model(target)
    for note in trained.notes:
        console.print(f"[dim]{note}[/dim]")
    # Read at the scale the model was trained at (resolution.json), as its own evaluation did.
    source = _folder_source(data, pattern, scale=trained.resolution.scale) if data is not None else None
    if source is None and not gin_files and not gin_params:
        raise typer.BadParameter("give --data DIR, or a gin file binding evaluate.source", param_hint="--data")
    rules = [DecisionRule.load(decision)] if decision is not None else []

    def run(model) -> object:
        return _evaluate_one(model, source=source, tile=tile, overlap=overlap, batch_size=batch_size, tta=tta,
                             rules=rules, decision=decision, console=console)

    result = run(trained)
    for note in result.notes:
        console.print(f"[yellow]{note}[/yellow]")
    baseline_metrics, baseline_name = None, ""
    if baseline is not None:
        baseline_metrics, baseline_name = _baseline(baseline, run, console)
    data_name = data.name if data is not None else "+".join(Path(f).stem for f in gin_files or []) or "gin"
    history = trained.folder / "history.csv"
    report = write_report(
        out_dir=out or (trained.folder / f"eval-{data_name}"),
        metrics=result.metrics,
        scheme=result.scheme,
        history=history if history.is_file() else None,
        baseline_metrics=baseline_metrics,
        baseline_name=baseline_name,
        config_summary=_summary(trained, data, pattern, tile, overlap, tta, result, baseline_name),
        examples=result.examples,
        decision=result.decisions or None,
        title=f"Evaluation of {trained.model_path} on {data_name}",
    )
    _print_table(result.metrics)
    typer.echo(f"report: {report}")


def _evaluate_one(model, *, source, tile, overlap, batch_size, tta, rules, decision, console):
    """One model through the gin-configured ``evaluate`` (the source from --data, else from gin)."""
    import gin

    from lggseg.evaluation import SlidingWindowPredictor

    predictor = SlidingWindowPredictor(
        model=model.model, tile_size=tile, overlap=overlap, batch_size=batch_size, tta=tta,
        normalizer=model.normalizer,
    )
    evaluate_fn = gin.get_configurable("lggseg.evaluation.evaluate")
    kwargs = dict(predictor=predictor, model_scheme=model.scheme)
    if source is not None:
        kwargs["source"] = source
    with _progress(console, f"evaluating {model.model_path.name}") as progress:
        try:
            return evaluate_fn(**kwargs, progress=progress, decision_rules=rules,
                               decision_fitted_on=str(decision or ""))
        except TypeError as err:
            if "source" in str(err):
                raise typer.BadParameter(
                    "no data: give --data DIR, or bind evaluate.source in a gin file", param_hint="--data"
                ) from None
            raise


def _folder_source(data: Path, pattern: str, *, scale: float):
    from lggseg.data import FolderSource

    return FolderSource(directory=data, pattern=pattern, scale=scale)


def _baseline(baseline: Path, run, console) -> tuple[dict, str]:
    import json

    from lggseg.evaluation import load_trained_model

    if baseline.is_file() and baseline.suffix == ".json":
        try:
            return json.loads(baseline.read_text()), str(baseline)
        except json.JSONDecodeError as err:
            raise ValueError(f"{baseline} is not valid JSON: {err}") from err
    model = load_trained_model(baseline)
    console.print(f"[dim]baseline: {model.model_path}[/dim]")
    return run(model).metrics, str(model.model_path)


def _summary(trained, data, pattern, tile, overlap, tta, result, baseline_name) -> str:
    normalizer = trained.normalizer.method if trained.normalizer is not None else "none"
    lines = [
        f"model:      {trained.model_path}",
        f"classes:    {', '.join(trained.scheme.codes)}",
        f"data:       {data if data is not None else 'gin evaluate.source'}"
        + (f" (images matching {pattern!r})" if pattern != "*" else ""),
        f"normaliser: {normalizer}",
        f"inference:  sliding window, tile {tile or 'model default'}, overlap {overlap}, TTA {'on' if tta else 'off'}",
    ]
    if baseline_name:
        lines.append(f"baseline:   {baseline_name}")
    lines += [f"note:       {n}" for n in result.notes]
    return "\n".join(lines)


class _progress:
    """A rich progress bar over images, usable as ``progress(done, total)``."""

    def __init__(self, console, description: str):
        from lggseg.progress import progress_bar

        self._bar = progress_bar(console=console, transient=True)
        self._description = description
        self._task = None

    def __enter__(self):
        self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.stop()

    def __call__(self, done: int, total: int) -> None:
        if self._task is None:
            self._task = self._bar.add_task(self._description, total=total)
        self._bar.update(self._task, completed=done)


def _print_table(metrics: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    def f(v):
        return "–" if v is None else f"{v:.3f}"

    table = Table(title=f"accuracy {f(metrics['accuracy'])}, macro F1 {f(metrics['macro_f1'])}, "
                        f"mIoU {f(metrics['miou'])}, ECE {f(metrics['ece'])}")
    for col in ("class", "precision", "recall", "F1", "IoU", "mean p(true)", "p(true) > 0.5", "support"):
        table.add_column(col, justify="right" if col != "class" else "left")
    for name in metrics["classes"]:
        c, p = metrics["per_class"][name], metrics["probability"][name]
        table.add_row(name, f(c["precision"]), f(c["recall"]), f(c["f1"]), f(c["iou"]), f(p["mean"]),
                      f(p["frac_above_0.5"]), f"{c['support']:,}")
    Console().print(table)
