"""``lggseg``: the Typer application.

The backend is chosen in the callback, before any command imports keras, which is why
command modules import ``lggseg`` subpackages inside their functions.
"""

from __future__ import annotations

import enum
import os
from typing import Annotated

import typer

from lggseg_cli import benchmark, data, evaluate, export, info, masks, normalize, predict, train

app = typer.Typer(
    name="lggseg",
    help="Segment lower-grade glioma H&E images (BG, CT, LE, IT) by transfer from a GBM model.",
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


class Backend(str, enum.Enum):
    jax = "jax"
    tensorflow = "tensorflow"


def _default_backend() -> Backend:
    name = os.environ.get("KERAS_BACKEND", "jax")
    try:
        return Backend(name)
    except ValueError:
        raise typer.BadParameter(
            f"KERAS_BACKEND={name!r} is not supported; choose one of: jax, tensorflow."
        ) from None


@app.callback()
def main(
    backend: Annotated[
        Backend | None,
        typer.Option(
            "--backend",
            help="Keras backend for this run (default: $KERAS_BACKEND, else jax).",
            case_sensitive=False,
        ),
    ] = None,
) -> None:
    """lggseg: LGG H&E segmentation with GBM transfer, on JAX or TensorFlow."""
    chosen = backend or _default_backend()
    os.environ["KERAS_BACKEND"] = chosen.value
    # segmentation-models picks its Keras through this variable; tf.keras is Keras 3.
    os.environ.setdefault("SM_FRAMEWORK", "tf.keras")
    # TensorFlow logs a page of C++ start-up notices otherwise.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # A persistent XLA cache makes resumed runs, benchmark seeds and repeated commands skip
    # JAX's compiles (minutes for the full FC-DenseNet on a CPU).
    cache = os.environ.get("LGGSEG_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "lggseg"))
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(cache, "jax"))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "1")


app.command("info")(info.info)
app.command("normalize")(normalize.normalize)
app.command("evaluate")(evaluate.evaluate)
app.command("predict")(predict.predict)
app.command("export")(export.export)
app.add_typer(data.app, name="data")
app.command("masks")(masks.masks)
app.command("train")(train.train)
app.command("pretrain")(train.pretrain)
app.command("benchmark")(benchmark.benchmark)

if __name__ == "__main__":  # pragma: no cover
    app()
