"""Glass and marker ink are Background on both prediction paths: `lggseg predict` on an image and on a slide.

The image is real (W30-1-1-C.01: its own black marker rectangle) with a green pen stroke drawn
across it, at half size so that the slide is quick.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from lggseg.classes import LGG_4, write_palette

BG = LGG_4.index("BG")
pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def marked(ivygap_dir):
    """(image, ink mask) of half-size W30-1-1-C.01 with a drawn green stroke; the mask is the stroke and marker."""
    import cv2

    from lggseg.data import read_image

    image = read_image(ivygap_dir / "images" / "W30-1-1-C.01.jpg")
    image = cv2.resize(image, (512, 512), interpolation=cv2.INTER_AREA)
    stroke = np.zeros(image.shape[:2], np.uint8)
    cv2.line(stroke, (60, 300), (450, 420), 1, 7)
    image[stroke.astype(bool)] = (30, 140, 60)
    ink = stroke.astype(bool)
    ink[2:14, 354:374] = True  # the marker rectangle at half size
    return image, ink


@pytest.fixture
def run_dir(tmp_path, tiny_model):
    tiny_model.save(tmp_path / "model.keras")
    write_palette(LGG_4, tmp_path / "classes.tsv")
    return tmp_path


def _predict(run_dir, path, out, keras_backend, *extra):
    from typer.testing import CliRunner

    from lggseg_cli.main import app

    args = ["--backend", keras_backend, "predict", str(run_dir), str(path), "--out", str(out), "--tile", "128", *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_image_prediction_leaves_ink_to_background(tmp_path, run_dir, marked, keras_backend):
    from PIL import Image

    image, ink = marked
    Image.fromarray(image).save(tmp_path / "marked.png")
    output = _predict(run_dir, tmp_path / "marked.png", tmp_path / "out", keras_backend)
    classes = np.asarray(Image.open(tmp_path / "out" / "marked_mask.png"))
    assert np.all(classes[ink] == BG)
    assert "ink" in output
    _predict(run_dir, tmp_path / "marked.png", tmp_path / "raw", keras_backend, "--tissue-mask", "none", "--no-ink-mask")
    raw = np.asarray(Image.open(tmp_path / "raw" / "marked_mask.png"))
    assert np.mean(raw[ink] != BG) > 0.5  # the untrained model does call the ink something
    # The mask changes exactly the pixels it excludes.
    from lggseg.evaluation.prediction_mask import PredictionMask

    excluded = PredictionMask().excluded(image).any
    assert np.all(classes[excluded] == BG)
    np.testing.assert_array_equal(classes[~excluded], raw[~excluded])


def test_slide_prediction_leaves_ink_to_background(tmp_path, run_dir, marked, make_pyramid, keras_backend):
    import tiffslide

    from lggseg.slides import predict_slide
    from lggseg.evaluation import load_trained_model

    image, ink = marked
    slide = make_pyramid(tmp_path / "marked.tif", image, levels=2)
    trained = load_trained_model(run_dir)
    result = predict_slide(model=trained.model, slide_path=slide, out_dir=tmp_path / "out", tile_size=128)
    with tiffslide.TiffSlide(result.class_map) as s:
        classes = np.asarray(s.read_region((0, 0), 0, (512, 512), as_array=True))[..., 0]
    assert np.all(classes[ink] == BG)
    areas = json.loads(result.areas_json.read_text())
    assert areas["excluded_pixels"] == result.excluded
    assert result.excluded["ink"] >= ink.sum()
    assert areas["mask"] == {"tissue": "hsv", "ink": True}
