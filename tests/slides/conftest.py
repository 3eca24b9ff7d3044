"""Small slides and a tiny fully convolutional model for the slide tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_pyramid(path: Path, image: np.ndarray, *, levels: int = 2, mpp: float | None = 0.5,
                  subifds: bool = True, tile: int = 128) -> Path:
    """Write an RGB array as a tiled pyramidal TIFF (lossless), levels by 2x subsampling."""
    import cv2
    import tifffile

    res = {} if mpp is None else {"resolution": (1e4 / mpp, 1e4 / mpp), "resolutionunit": "CENTIMETER"}
    with tifffile.TiffWriter(path) as tw:
        tw.write(image, tile=(tile, tile), compression="zlib", photometric="rgb",
                 subifds=levels - 1 if subifds else None, metadata=None, **res)
        for k in range(1, levels):
            small = cv2.resize(image, (image.shape[1] >> k, image.shape[0] >> k), interpolation=cv2.INTER_AREA)
            res_k = {} if mpp is None else {"resolution": (1e4 / (mpp * 2**k),) * 2, "resolutionunit": "CENTIMETER"}
            tw.write(small, tile=(tile, tile), compression="zlib", photometric="rgb", subfiletype=1,
                     metadata=None, **res_k)
    return path


@pytest.fixture(scope="session")
def make_pyramid():
    """The :func:`write_pyramid` helper, for tests that write their own slides."""
    return write_pyramid


@pytest.fixture(scope="session")
def tissue_image() -> np.ndarray:
    """500 x 600 H&E-like image: glass on the left 200 columns, tissue on the right."""
    from lggseg.data.synthetic import generate

    tissue = np.concatenate([generate(size=256, seed=3, index=i).image for i in range(3)], axis=1)
    tissue = np.concatenate([tissue, tissue[::-1]], axis=0)[:500, :400]
    glass = np.full((500, 200, 3), 244, np.uint8)
    return np.ascontiguousarray(np.concatenate([glass, tissue], axis=1))


@pytest.fixture(scope="session")
def slide_path(tmp_path_factory, tissue_image) -> Path:
    return write_pyramid(tmp_path_factory.mktemp("slide") / "small.tif", tissue_image, levels=3)


@pytest.fixture(scope="session")
def tiny_model():
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 5, padding="same", activation="relu")(inp)
    x = keras.layers.Conv2D(4, 3, padding="same")(x)
    return keras.Model(inp, keras.layers.Softmax()(x))
