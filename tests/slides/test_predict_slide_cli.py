"""The slide path of ``lggseg predict``: predict_slide_command on a saved model."""

from __future__ import annotations

import json

import pytest
import typer

from lggseg.classes import LGG_4, write_palette


def test_predict_slide_command_writes_the_outputs(tmp_path, slide_path, tiny_model):
    from lggseg_cli.predict_slide import predict_slide_command

    tiny_model.save(tmp_path / "model.keras")
    write_palette(LGG_4, tmp_path / "classes.tsv")
    out = tmp_path / "out"
    result = predict_slide_command(model=tmp_path, slide=slide_path, out=out, mpp=1.0, tile=64)
    assert result.level == 1
    for name in ("small_classes.tif", "small_classes.png", "small_areas.json", "small_classes.geojson"):
        assert (out / name).is_file()
    assert json.loads((out / "small_areas.json").read_text())["unit"] == "mm2"
    with pytest.raises(typer.Exit):
        predict_slide_command(model=tmp_path, slide=slide_path, out=out, level=1, mpp=1.0)
    with pytest.raises(typer.Exit):
        predict_slide_command(model=tmp_path, slide=slide_path, out=out, level=9)


def test_predict_writes_one_geojson_feature_per_region(tmp_path, slide_path, tiny_model, keras_backend):
    from typer.testing import CliRunner

    from lggseg_cli.main import app

    tiny_model.save(tmp_path / "model.keras")
    write_palette(LGG_4, tmp_path / "classes.tsv")
    out = tmp_path / "out"
    args = ["--backend", keras_backend, "predict", str(tmp_path), str(slide_path), "--out", str(out),
            "--mpp", "1.0", "--tile", "64", "--geojson-features"]
    result = CliRunner().invoke(app, [*args, "region"])
    assert result.exit_code == 0, result.output
    features = json.loads((out / "small_classes.geojson").read_text())["features"]
    assert features and all(f["geometry"]["type"] == "Polygon" for f in features)
    assert all(f["properties"]["measurements"]["Area px^2"] > 0 for f in features)
    result = CliRunner().invoke(app, [*args, "regions"])
    assert result.exit_code == 2 and "class, region" in result.output


def test_slides_are_read_at_the_level_nearest_the_run_resolution(tmp_path, slide_path, tiny_model):
    from lggseg.data.resolution import Resolution
    from lggseg_cli.predict_slide import predict_slide_command

    tiny_model.save(tmp_path / "model.keras")
    write_palette(LGG_4, tmp_path / "classes.tsv")
    Resolution(scale=0.5, mpp=1.0).write(tmp_path)  # the slide: 0.5 um/px at level 0, 1.0 at level 1
    assert predict_slide_command(model=tmp_path, slide=slide_path, out=tmp_path / "a", tile=64).level == 1
    assert predict_slide_command(model=tmp_path, slide=slide_path, out=tmp_path / "b", tile=64, level=0).level == 0
