"""Bad input gets a clear message (or is handled) instead of a traceback or a silent wrong."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from lggseg.classes import LGG_4
from lggseg.data.io import ImageTooLarge, read_image
from lggseg.data.synthetic import SyntheticSource
from lggseg.evaluation.metrics import ConfusionAccumulator
from lggseg.evaluation.sanity import prediction_collapse
from lggseg.models import fc_densenet, load_model
from lggseg.training import Phase, gbm_source, train
from lggseg_cli.main import app


def _tiny(num_classes: int = 4):
    return fc_densenet(num_classes=num_classes, initial_filters=8, growth_rate=4, down_blocks=(1,),
                       bottleneck_layers=1, up_blocks=(1,), dropout=0.0)


def _train(run_dir, model=_tiny, phases=(Phase(layers_to_unfreeze="all", epochs=1),)):
    return train(data=SyntheticSource(count=6, size=64, num_classes=4, seed=3), model=model, run_dir=run_dir,
                 phases=list(phases), tile_size=32, batch_size=2, steps_per_epoch=1, progress=False,
                 decision_rule=False)


def test_a_learning_rate_that_is_not_a_number_is_a_clean_cli_error(tiny_experiment, tmp_path):
    result = CliRunner().invoke(app, ["train", "--gin", str(tiny_experiment), "--gin-param",
                                      "phase.learning_rate = 'fast'", "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert "learning_rate must be a positive number" in result.output and "'fast'" in result.output
    assert "Traceback" not in result.output


def test_exif_orientation_is_applied_as_viewers_show_the_image(tmp_path):
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:10, :20] = (200, 30, 30)  # a red block at the top left of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 3  # rotated 180 degrees
    Image.fromarray(pixels).save(tmp_path / "tile.jpg", quality=100, exif=exif)
    with pytest.warns(UserWarning, match="EXIF orientation 3"):
        image = read_image(tmp_path / "tile.jpg")
    assert image.shape == (40, 60, 3)
    assert image[-5, -5, 0] > 150 and image[5, 5, 0] < 60  # the block is now at the bottom right


def test_images_beyond_the_stated_limit_are_routed_to_the_slide_path(tmp_path, monkeypatch):
    Image.fromarray(np.full((200, 300, 3), 128, np.uint8)).save(tmp_path / "big.png")
    monkeypatch.setenv("LGGSEG_MAX_IMAGE_PIXELS", "50000")
    with pytest.raises(ImageTooLarge, match=r"(?s)200 = 60,000 pixels.*pyramidal TIFF.*LGGSEG_MAX_IMAGE_PIXELS"):
        read_image(tmp_path / "big.png")
    # PIL's own decompression-bomb limit does not apply: lggseg's stated limit does.
    monkeypatch.setenv("LGGSEG_MAX_IMAGE_PIXELS", "100000")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert read_image(tmp_path / "big.png").shape == (200, 300, 3)
    assert Image.MAX_IMAGE_PIXELS == 1000  # left as it was


def test_synth_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "old.png").write_bytes(b"not ours")
    result = CliRunner().invoke(app, ["data", "synth", "--out", str(tmp_path), "--count", "2", "--size", "64"])
    assert result.exit_code == 2 and "not empty" in result.output and "old.png" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.png"]


def test_predictions_collapsed_to_one_class_are_said_aloud():
    truth = np.array([[0, 1, 2, 3]] * 4, np.uint8)
    collapsed = ConfusionAccumulator(num_classes=4)
    collapsed.update(y_true=truth, probs=np.eye(4, dtype=np.float32)[np.ones_like(truth)])
    warning = prediction_collapse(collapsed.result(class_names=LGG_4.codes))
    assert warning is not None and "CT for 100.0%" in warning and "4 classes" in warning
    healthy = ConfusionAccumulator(num_classes=4)
    healthy.update(y_true=truth, probs=np.eye(4, dtype=np.float32)[truth])
    assert prediction_collapse(healthy.result(class_names=LGG_4.codes)) is None


def test_a_failed_setup_leaves_nothing_that_blocks_the_fixed_rerun(tmp_path):
    with pytest.raises(ValueError, match="predicts 8 classes"):
        _train(tmp_path, model=lambda: _tiny(8))
    assert not (tmp_path / "split.json").exists() and not (tmp_path / "classes.tsv").exists()
    _train(tmp_path)  # the corrected model, same folder
    assert json.loads((tmp_path / "state.json").read_text())["status"] == "finished"


def test_a_truncated_model_file_is_called_damaged_not_missing(tmp_path):
    path = tmp_path / "model.keras"
    _tiny().save(path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ValueError, match="is damaged: it exists"):
        load_model(path)
    with pytest.raises(ValueError, match="is damaged"):
        gbm_source(weights=str(path))


@pytest.mark.slow
def test_a_damaged_checkpoint_resumes_from_the_last_finished_phase(tmp_path):
    phases = (Phase(layers_to_unfreeze="all", epochs=1), Phase(layers_to_unfreeze="all", epochs=2))
    _train(tmp_path, phases=phases)
    state = json.loads((tmp_path / "state.json").read_text())
    # As if interrupted after one epoch of phase 2, with the checkpoint then cut short.
    (tmp_path / "state.json").write_text(json.dumps({**state, "status": "running", "phases_done": 1,
                                                     "epochs_done": 1}))
    (tmp_path / "checkpoint.keras").write_bytes((tmp_path / "phase_1.keras").read_bytes()[:3000])
    _train(tmp_path, phases=phases)
    final = json.loads((tmp_path / "state.json").read_text())
    assert final["status"] == "finished" and final["phases_done"] == 2


def test_index_masks_without_a_palette_say_which_classes_they_are_read_as(tmp_path):
    from lggseg.data import FolderSource
    from lggseg.data.synthetic import write_dataset

    write_dataset(tmp_path / "data", source=SyntheticSource(count=2, size=32, num_classes=4, seed=1))
    (tmp_path / "data" / "palette.tsv").unlink()
    with pytest.warns(UserWarning, match=r"no palette.tsv, so mask indices are read as the 4 LGG classes \(0=BG"):
        source = FolderSource(directory=tmp_path / "data")
    assert source.scheme == LGG_4


def test_blank_images_whose_masks_label_tissue_are_named():
    from lggseg.data.source import DataSource, Sample
    from lggseg.training.setup import warn_blank_images

    real = SyntheticSource(count=2, size=64, num_classes=4, seed=2)
    white = Sample(name="white", image=np.full((64, 64, 3), 255, np.uint8), mask=np.full((64, 64), 1, np.uint8))
    source = DataSource(samples=[real[0], white, real[1]], scheme=real.scheme)
    assert [name.split(" ")[0] for name in warn_blank_images(source)] == ["white"]
