"""``lggseg export``: a run's model as a TensorFlow SavedModel and/or ONNX, usable without lggseg."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lggseg_cli.errors import cli_errors

Target = Annotated[
    Path,
    typer.Argument(help="A run directory (model.keras, normalizer.json, classes.tsv) or a .keras model file."),
]
Out = Annotated[Path, typer.Option("--out", help="Output folder.", file_okay=False)]
Formats = Annotated[
    list[str] | None,
    typer.Option(
        "--format",
        help="saved_model or onnx; repeatable or a comma list (default: saved_model).",
    ),
]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace exports already in --out.")]


@cli_errors()
def export(target: Target, out: Out, format: Formats = None, overwrite: Overwrite = False) -> None:
    """Export the model for inference without lggseg: SavedModel, ONNX and preprocessing.json.

    preprocessing.json records what to do around the network: input scaling (uint8 / 255),
    the side multiple it pads to itself, the classes in output order, the stain normaliser
    (normalizer.json is copied; inputs must be normalised the same way) and the resolution.
    The graph is traced on TensorFlow; on another backend the command re-runs itself with
    --backend tensorflow (the .keras file is backend-independent, so the export is the same).
    """
    import keras

    from lggseg.evaluation.export import export_run, parse_formats

    formats = parse_formats(format or ["saved_model"])
    if keras.backend.backend() != "tensorflow":
        _rerun_on_tensorflow(target=target, out=out, formats=formats, overwrite=overwrite)
        return
    record = export_run(run_dir=target, out_dir=out, formats=formats, overwrite=overwrite)
    for name, entry in record["formats"].items():
        diff = entry.get("check", {}).get("max_abs_difference")
        checked = "not checked" if diff is None else f"max |export - keras| = {diff:.2e} on one tile"
        typer.echo(f"wrote {out / entry['path']} ({checked})")
    typer.echo(f"wrote {out / 'preprocessing.json'} (classes: {', '.join(c['code'] for c in record['output']['classes'])})")


def _rerun_on_tensorflow(*, target: Path, out: Path, formats: tuple[str, ...], overwrite: bool) -> None:
    """Run ``lggseg --backend tensorflow export ...`` in a child process and pass on its output.

    Keras fixes its backend when it is imported, so the switch needs a new process.
    """
    import os
    import subprocess
    import sys

    args = [sys.executable, "-m", "lggseg_cli.main", "--backend", "tensorflow", "export", str(target),
            "--out", str(out), "--format", ",".join(formats)] + (["--overwrite"] if overwrite else [])
    typer.secho("exporting on the TensorFlow backend (re-running in a new process)", dim=True, err=True)
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": "tensorflow"})
    if done.stdout:
        typer.echo(done.stdout, nl=False)
    if done.stderr:
        # The child's own `error: ...` line (or a traceback) comes through as it printed it.
        typer.echo(done.stderr, nl=False, err=True)
    if done.returncode:
        raise typer.Exit(code=done.returncode)
