"""`lggseg evaluate` and `lggseg predict` through Typer's CliRunner on a tiny saved run."""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from lggseg.classes import IVYGAP_8, LGG_4, write_palette
from lggseg_cli.main import app

runner = CliRunner()


@pytest.fixture
def run_dir(tmp_path, fc_model, random_image):
    from lggseg.stain import Reinhard

    run = tmp_path / "run"
    run.mkdir()
    fc_model(num_classes=4).save(run / "model.keras")
    write_palette(LGG_4, run / "classes.tsv")
    Reinhard().fit(random_image(64, 64, seed=5)).save(run / "normalizer.json")
    (run / "history.csv").write_text("phase,epoch,loss,val_macro_f1\n1,1,1.0,0.2\n1,2,0.8,0.3\n2,1,0.6,0.4\n")
    return run


@pytest.fixture
def ivygap_like(tmp_path, random_image):
    """Two images with 8-class IvyGAP colour masks and the palette, as in ../shared/data/ivygap."""
    data = tmp_path / "mini"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    write_palette(IVYGAP_8, data / "palette.tsv")
    rng = np.random.default_rng(0)
    for i, shape in enumerate([(40, 48), (30, 36)]):
        Image.fromarray(random_image(*shape, seed=i)).save(data / "images" / f"img{i}.png")
        mask = rng.integers(0, 8, shape, dtype=np.uint8)
        Image.fromarray(IVYGAP_8.encode_rgb(mask)).save(data / "masks" / f"img{i}.png")
    return data


def test_evaluate_writes_metrics_report_and_plots(run_dir, ivygap_like, keras_backend, tmp_path, fc_model):
    result = runner.invoke(
        app, ["--backend", keras_backend, "evaluate", str(run_dir), "--data", str(ivygap_like), "--tile", "32"]
    )
    assert result.exit_code == 0, result.output
    out = run_dir / "eval-mini"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classes"] == list(LGG_4.codes)
    assert metrics["pixels"] == 40 * 48 + 30 * 36
    assert "IvyGAP -> LGG" in metrics["notes"][0]
    text = (out / "report.md").read_text()
    assert "normaliser: reinhard" in text and "IvyGAP -> LGG" in text
    assert (out / "plots" / "training_curves.png").stat().st_size > 0
    assert (out / "plots" / "overlays.png").stat().st_size > 0

    # A baseline model (no side files: 4 outputs read as the LGG classes) fills the change column.
    base = tmp_path / "base"
    base.mkdir()
    fc_model(num_classes=4, seed=1).save(base / "model.keras")
    result = runner.invoke(
        app,
        ["--backend", keras_backend, "evaluate", str(run_dir), "--data", str(ivygap_like), "--tile", "32",
         "--baseline", str(base), "--out", str(tmp_path / "vs-base")],
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "vs-base" / "report.md").read_text()
    assert f"Baseline: {base / 'model.keras'}" in text
    le_row = next(ln for ln in text.splitlines() if ln.startswith("| LE |"))
    assert le_row.rstrip(" |").split("|")[-1].strip() != "–"


def test_predict_writes_mask_colour_and_overlay(run_dir, ivygap_like, keras_backend, tmp_path):
    images = sorted((ivygap_like / "images").glob("*.png"))
    out = tmp_path / "pred"
    result = runner.invoke(
        app,
        ["--backend", keras_backend, "predict", str(run_dir / "model.keras"), *map(str, images),
         "--out", str(out), "--tile", "32", "--tta", "--batch-size", "2"],
    )
    assert result.exit_code == 0, result.output
    for path in images:
        shape = np.asarray(Image.open(path)).shape[:2]
        mask = np.asarray(Image.open(out / f"{path.stem}_mask.png"))
        assert mask.shape == shape and mask.max() < 4
        colour = np.asarray(Image.open(out / f"{path.stem}_colour.png"))
        np.testing.assert_array_equal(colour, LGG_4.encode_rgb(mask))
        assert np.asarray(Image.open(out / f"{path.stem}_overlay.png")).shape == shape + (3,)


def test_predict_and_evaluate_read_images_at_the_run_scale(run_dir, ivygap_like, keras_backend, tmp_path):
    import cv2

    from lggseg.data.resolution import Resolution
    from lggseg.evaluation import SlidingWindowPredictor, load_trained_model

    Resolution(scale=0.5).write(run_dir)
    trained = load_trained_model(run_dir)
    assert trained.resolution == Resolution(scale=0.5)
    image_path = sorted((ivygap_like / "images").glob("*.png"))[0]
    out = tmp_path / "pred"
    result = runner.invoke(app, ["--backend", keras_backend, "predict", str(run_dir), str(image_path), "--out",
                                 str(out), "--tile", "32", "--tissue-mask", "none", "--no-ink-mask"])
    assert result.exit_code == 0, result.output
    # A PNG says nothing of its magnification: the assumption is stated.
    assert "taken to be at the magnification of its training images and resampled by 0.5" in result.output
    image = np.asarray(Image.open(image_path).convert("RGB"))
    h, w = image.shape[:2]
    half = cv2.resize(image, (round(w / 2), round(h / 2)), interpolation=cv2.INTER_AREA)
    predictor = SlidingWindowPredictor(model=trained.model, tile_size=32, normalizer=trained.normalizer)
    expected = cv2.resize(predictor.predict(half).argmax(-1).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(np.asarray(Image.open(out / f"{image_path.stem}_mask.png")), expected)

    result = runner.invoke(app, ["--backend", keras_backend, "evaluate", str(run_dir), "--data", str(ivygap_like),
                                 "--pattern", "img1", "--tile", "32", "--out", str(tmp_path / "e")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "e" / "metrics.json").read_text())["pixels"] == 15 * 18  # 30 x 36 at half size


def test_predict_takes_a_folder(run_dir, ivygap_like, keras_backend, tmp_path):
    folder = ivygap_like / "images"
    out = tmp_path / "pred"
    result = runner.invoke(app, ["--backend", keras_backend, "predict", str(run_dir), str(folder), "--out", str(out),
                                 "--tile", "32"])
    assert result.exit_code == 0, result.output
    images = sorted(folder.glob("*.png"))
    assert images and sorted(out.glob("*_mask.png")) == [out / f"{p.stem}_mask.png" for p in images]
    assert f"predicted {len(images)} image(s)" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["--backend", keras_backend, "predict", str(run_dir), str(empty), "--out", str(out)])
    assert result.exit_code == 2 and "holds no image or slide" in result.output
    result = runner.invoke(app, ["--backend", keras_backend, "predict", str(run_dir), str(folder), "--out", str(out),
                                 "--tissue-mask", "triangle"])
    assert result.exit_code == 2 and "hsv, otsu, none" in result.output


def test_clear_errors_for_missing_models_and_data(tmp_path, keras_backend, ivygap_like):
    result = runner.invoke(app, ["--backend", keras_backend, "evaluate", str(tmp_path / "nope"), "--data",
                                 str(ivygap_like)])
    assert result.exit_code == 2 and "does not exist" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "phase_1.keras").write_bytes(b"")
    image = next((ivygap_like / "images").glob("*.png"))
    result = runner.invoke(app, ["--backend", keras_backend, "predict", str(empty), str(image), "--out",
                                 str(tmp_path / "o")])
    assert result.exit_code == 2 and "phase_1.keras" in result.output


def test_evaluate_takes_the_data_source_from_gin(run_dir, ivygap_like, keras_backend, tmp_path):
    result = runner.invoke(
        app,
        ["--backend", keras_backend, "evaluate", str(run_dir), "--tile", "32", "--out", str(tmp_path / "g"),
         "--gin-param", "lggseg.evaluation.evaluate.source = @lggseg.data.folder_source()",
         "--gin-param", f"lggseg.data.folder_source.directory = '{ivygap_like}'",
         "--gin-param", "lggseg.data.folder_source.pattern = 'img1'"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "g" / "metrics.json").read_text())["pixels"] == 30 * 36
    result = runner.invoke(app, ["--backend", keras_backend, "evaluate", str(run_dir)])
    assert result.exit_code != 0 and "--data" in result.output


def test_load_trained_model_reads_side_files_and_checks_them(run_dir, tmp_path, fc_model):
    from lggseg.evaluation import load_trained_model

    trained = load_trained_model(run_dir)
    assert trained.scheme.codes == LGG_4.codes and trained.normalizer.method == "reinhard"
    assert trained.folder == run_dir
    odd = tmp_path / "odd"
    odd.mkdir()
    fc_model(num_classes=3).save(odd / "m.keras")
    with pytest.raises(ValueError, match="outputs 3 classes"):
        load_trained_model(odd / "m.keras")
    write_palette(LGG_4, odd / "classes.tsv")
    with pytest.raises(ValueError, match="lists 4 classes"):
        load_trained_model(odd / "m.keras")
    (odd / "w.h5").write_bytes(b"")
    with pytest.raises(ValueError, match="not a .keras"):
        load_trained_model(odd / "w.h5")
