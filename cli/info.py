"""``lggseg info``: versions, backend and devices."""

from __future__ import annotations

import importlib.metadata
import platform

import typer

from lggseg_cli.errors import cli_errors

_PACKAGES = (
    "lggseg",
    "keras",
    "jax",
    "jaxlib",
    "tensorflow",
    "segmentation-models",
    "staintools",
    "spams-bin",
    "opencv-python",
    "gin-config",
    "typer",
    "numpy",
)


@cli_errors()
def info() -> None:
    """Print versions, the Keras backend and its devices."""
    import keras

    typer.echo(f"python       {platform.python_version()} ({platform.machine()}, {platform.system()})")
    for name in _PACKAGES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        typer.echo(f"{name:<20} {version}")
    typer.echo(f"backend      {keras.backend.backend()}")
    for device in _devices(keras.backend.backend()):
        typer.echo(f"device       {device}")


def _devices(backend: str) -> list[str]:
    if backend == "jax":
        import jax

        return [f"{d.platform}:{d.id} ({d.device_kind})" for d in jax.devices()]
    import tensorflow as tf

    return [d.name for d in tf.config.list_logical_devices()]
