"""``lggseg normalize`` through Typer's CliRunner."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from lggseg.data.synthetic import SyntheticSource
from lggseg.stain import load_normalizer
from lggseg_cli.main import app

runner = CliRunner()


@pytest.fixture
def files(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(SyntheticSource(count=1, size=96, num_classes=4, seed=11, stain="gbm")[0].image).save(src / "ref.png")
    for i, sample in enumerate(SyntheticSource(count=2, size=64, num_classes=4, seed=3, stain="lgg")):
        Image.fromarray(sample.image).save(src / f"tile{i}.png")
    Image.fromarray(np.full((64, 64, 3), 246, np.uint8)).save(src / "blank.png")
    return src


def test_normalize_writes_images_and_reports_each(files, tmp_path, keras_backend):
    out = tmp_path / "out"
    inputs = [str(files / n) for n in ("tile0.png", "tile1.png", "blank.png")]
    result = runner.invoke(
        app,
        ["--backend", keras_backend, "normalize", "--method", "macenko", "--reference", str(files / "ref.png"), *inputs, "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "tile0.png: normalised" in result.output
    assert "blank.png: passed through (background: 0 tissue pixels" in result.output
    for name in ("tile0.png", "tile1.png", "blank.png"):
        written = np.asarray(Image.open(out / name))
        assert written.shape == (64, 64, 3) and written.dtype == np.uint8
    assert np.array_equal(np.asarray(Image.open(out / "blank.png")), np.asarray(Image.open(files / "blank.png")))
    assert not np.array_equal(np.asarray(Image.open(out / "tile0.png")), np.asarray(Image.open(files / "tile0.png")))
    saved = load_normalizer(out / "normalizer.json")
    assert saved.method == "macenko" and saved.reference_name == str(files / "ref.png")


def test_normalize_chooses_a_reference_and_takes_gin_bindings(files, tmp_path, keras_backend):
    import gin

    out = tmp_path / "out"
    inputs = [str(files / n) for n in ("tile0.png", "tile1.png", "ref.png")]
    try:
        result = runner.invoke(
            app,
            [
                "--backend", keras_backend, "normalize", "--method", "reinhard", *inputs, "--out", str(out),
                "--gin-param", "reinhard.min_tissue_pixels = 100000",
            ],
        )
    finally:
        gin.clear_config()
    assert result.exit_code == 0, result.output
    assert "reference: " in result.output and "(rule median-stain)" in result.output
    # The binding reached the normaliser: every 64x64 / 96x96 image now counts as too small.
    assert result.output.count("passed through (background") == 3
    assert load_normalizer(out / "normalizer.json").min_tissue_pixels == 100000


def test_normalize_rejects_bad_method_and_overwriting_inputs(files, keras_backend):
    result = runner.invoke(app, ["--backend", keras_backend, "normalize", "--method", "vahadane", str(files / "tile0.png"), "--out", str(files.parent / "o")])
    assert result.exit_code != 0 and "valid methods" in result.output
    result = runner.invoke(app, ["--backend", keras_backend, "normalize", str(files / "tile0.png"), "--out", str(files)])
    assert result.exit_code != 0 and "choose another folder" in result.output
