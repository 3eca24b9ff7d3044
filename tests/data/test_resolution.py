"""The resolution record: a folder source's scale and microns per pixel, written with a run and read back."""

import json

import numpy as np
import pytest
from PIL import Image

from lggseg.classes import IVYGAP_8, write_palette
from lggseg.data import FolderSource
from lggseg.data.resolution import RESOLUTION_FILE, Resolution, resample, scaled_size


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    write_palette(IVYGAP_8, tmp_path / "palette.tsv")
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(tmp_path / "images" / f"{name}.png")
        Image.fromarray(IVYGAP_8.encode_rgb(rng.integers(0, 8, (40, 60), dtype=np.uint8))).save(
            tmp_path / "masks" / f"{name}.png")
    return tmp_path


def test_a_folder_source_knows_its_scale_and_resolution(folder):
    source = FolderSource(directory=folder, scale=0.5, mpp=0.25)
    assert source[0].image.shape == (20, 30, 3) and source[0].mask.shape == (20, 30)
    assert Resolution.of(source) == Resolution(scale=0.5, mpp=0.5)  # 0.25 um/px files read at half size
    assert Resolution.of(source.subset([1])) == Resolution(scale=0.5, mpp=0.5)
    assert Resolution.of(FolderSource(directory=folder)) == Resolution()
    with pytest.raises(ValueError, match="folder_source.mpp"):
        FolderSource(directory=folder, mpp=0)


def test_written_and_read_back(tmp_path):
    assert Resolution.read(tmp_path) is None
    Resolution(scale=0.25, mpp=2.0).write(tmp_path)
    assert Resolution.read(tmp_path) == Resolution(scale=0.25, mpp=2.0)
    (tmp_path / RESOLUTION_FILE).write_text(json.dumps({"mpp": 1}))
    with pytest.raises(ValueError, match=RESOLUTION_FILE):
        Resolution.read(tmp_path)
    with pytest.raises(ValueError, match="scale"):
        Resolution(scale=0)


def test_resample_images_by_area_and_labels_by_nearest():
    labels = np.repeat(np.repeat(np.arange(4, dtype=np.uint8).reshape(2, 2), 3, axis=0), 3, axis=1)
    assert scaled_size(labels.shape, 1 / 3) == (2, 2)
    np.testing.assert_array_equal(resample(labels, size=(2, 2), labels=True), [[0, 1], [2, 3]])
    image = np.zeros((4, 4, 3), np.uint8)
    image[:, :2] = 200
    np.testing.assert_array_equal(resample(image, size=(2, 2))[..., 0], [[200, 0], [200, 0]])
    assert resample(image, size=(4, 4)) is image
