"""`lggseg export`: the SavedModel / ONNX give lggseg's probabilities in a process without lggseg."""

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from lggseg.classes import LGG_4, write_palette
from lggseg_cli.main import app

runner = CliRunner()
# Not a multiple of the network's side multiple (4), so the in-graph padding is exercised.
TILE = 38

# Runs in a fresh interpreter (-I: no PYTHONPATH, no user site) where lggseg cannot be imported.
WITHOUT_LGGSEG = """
import sys
sys.modules["lggseg"] = None
sys.modules["lggseg_cli"] = None
try:
    import lggseg
except ImportError:
    pass
else:
    raise SystemExit("lggseg is importable in the isolated process")
import json
import numpy as np

fmt, folder, tile_file, result_file = sys.argv[1:]
pre = json.load(open(f"{folder}/preprocessing.json"))
x = np.load(tile_file).astype(np.float32)[None] * pre["input"]["scale"]
path = f"{folder}/{pre['formats'][fmt]['path']}"
if fmt == "saved_model":
    import tensorflow as tf
    loaded = tf.saved_model.load(path)
    probs = loaded.serve(x).numpy()
else:
    import onnxruntime
    session = onnxruntime.InferenceSession(path)
    probs = session.run(None, {pre["formats"][fmt]["input_name"]: x})[0]
np.save(result_file, probs)
"""


def _onnx_tools() -> bool:
    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny FC-DenseNet run (compiled with lggseg's FocalLoss, stain-normalised), exported."""
    import keras

    from lggseg.data.resolution import Resolution
    from lggseg.losses import FocalLoss
    from lggseg.models import fc_densenet
    from lggseg.stain import Reinhard

    tmp = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(0)
    run = tmp / "run"
    run.mkdir()
    keras.utils.set_random_seed(0)
    model = fc_densenet(num_classes=4, initial_filters=8, growth_rate=4, down_blocks=(1, 1),
                        bottleneck_layers=1, up_blocks=(1, 1))
    model.compile(optimizer="adam", loss=FocalLoss())
    model.save(run / "model.keras")
    write_palette(LGG_4, run / "classes.tsv")
    Reinhard().fit(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(run / "normalizer.json")
    (run / "config.gin").write_text("train.tile_size = 32\n")
    Resolution(scale=0.5, mpp=1.0).write(run)

    formats = "saved_model,onnx" if _onnx_tools() else "saved_model"
    out = tmp / "export"
    result = runner.invoke(app, ["export", str(run), "--out", str(out), "--format", formats])
    assert result.exit_code == 0, result.output
    return run, out


def _lggseg_and_export(run, out, fmt, tmp_path):
    from lggseg.evaluation import SlidingWindowPredictor, load_trained_model

    image = np.random.default_rng(1).integers(0, 256, (TILE, TILE, 3), dtype=np.uint8)
    trained = load_trained_model(run)
    predictor = SlidingWindowPredictor(model=trained.model, tile_size=TILE, normalizer=trained.normalizer)
    expected = predictor.predict(image)
    # The export's user normalises with the run's normaliser, as preprocessing.json says.
    np.save(tmp_path / "tile.npy", predictor.normalize(image))
    done = subprocess.run(
        [sys.executable, "-I", "-c", WITHOUT_LGGSEG, fmt, str(out), str(tmp_path / "tile.npy"),
         str(tmp_path / "probs.npy")],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return expected, np.load(tmp_path / "probs.npy")[0]


def test_saved_model_matches_lggseg_without_lggseg(exported, tmp_path):
    run, out = exported
    expected, got = _lggseg_and_export(run, out, "saved_model", tmp_path)
    assert got.shape == (TILE, TILE, 4)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_onnx_matches_lggseg_without_lggseg(exported, tmp_path):
    if not _onnx_tools():
        pytest.skip("tf2onnx / onnxruntime are not installed (pip install 'lggseg[export]')")
    run, out = exported
    expected, got = _lggseg_and_export(run, out, "onnx", tmp_path)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_preprocessing_json_records_the_contract(exported):
    run, out = exported
    pre = json.loads((out / "preprocessing.json").read_text())
    assert pre["input"]["scale"] == pytest.approx(1 / 255) and pre["input"]["range"] == [0.0, 1.0]
    assert pre["input"]["side_multiple"] == 4
    assert [c["code"] for c in pre["output"]["classes"]] == list(LGG_4.codes)
    assert pre["output"]["classes"][1]["colour"] == list(LGG_4.colours[1])
    assert pre["stain_normalizer"]["method"] == "reinhard"
    assert (out / "normalizer.json").read_text() == (run / "normalizer.json").read_text()
    assert (out / "classes.tsv").is_file()
    assert pre["tiling"]["training_tile_size"] == 32
    assert pre["resample_factor"] == 0.5 and pre["microns_per_pixel"] == 1.0 and pre["microns_per_pixel_note"]
    for entry in pre["formats"].values():
        assert entry["check"]["max_abs_difference"] < 1e-4


def test_existing_export_needs_overwrite(exported):
    run, out = exported
    result = runner.invoke(app, ["export", str(run), "--out", str(out)])
    assert result.exit_code == 2 and "already exist" in result.output


def test_unknown_format_lists_the_valid_ones(exported, tmp_path):
    run, _ = exported
    result = runner.invoke(app, ["export", str(run), "--out", str(tmp_path / "x"), "--format", "saved_model,tflite"])
    assert result.exit_code == 2
    assert "'tflite'" in result.output and "saved_model, onnx" in result.output


def test_library_export_asks_for_tensorflow(keras_backend, exported, tmp_path):
    if keras_backend == "tensorflow":
        pytest.skip("the check is for the other backends")
    from lggseg.evaluation.export import export_run

    run, _ = exported
    with pytest.raises(ValueError, match="TensorFlow backend"):
        export_run(run_dir=run, out_dir=tmp_path / "x")
