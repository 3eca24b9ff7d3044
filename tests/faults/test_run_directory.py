"""A run directory is recognised by its marker: foreign folders are refused before anything is
written, and a run resumes only with the configuration it started with."""

from __future__ import annotations

import json

import gin
import pytest

from lggseg import config
from lggseg.data.synthetic import SyntheticSource
from lggseg.models import fc_densenet
from lggseg.training import Phase, train
from lggseg.training.run_dir import MARKER


def _tiny_model():
    return fc_densenet(num_classes=4, initial_filters=8, growth_rate=4, down_blocks=(1,), bottleneck_layers=1,
                       up_blocks=(1,), dropout=0.0)


def _train(run_dir, **options):
    train_fn = gin.get_configurable("lggseg.training.train")
    return train_fn(
        data=SyntheticSource(count=6, size=64, num_classes=4, seed=3), model=_tiny_model, run_dir=run_dir,
        phases=[Phase(layers_to_unfreeze="all", epochs=2)], tile_size=32, batch_size=2, steps_per_epoch=1,
        progress=False, decision_rule=False, **options,
    )


@pytest.fixture(autouse=True)
def _clean_gin():
    yield
    gin.clear_config()


def test_a_folder_of_the_users_files_is_refused_before_anything_is_written(tmp_path):
    folder = tmp_path / "mine"
    (folder / "plots").mkdir(parents=True)
    for name in ("model.keras", "report.md", "metrics.json", "plots/confusion.png"):
        (folder / name).write_text(f"the user's {name}")
    config.parse()
    with pytest.raises(ValueError, match="not an lggseg run directory.*--overwrite"):
        _train(folder)
    assert sorted(p.name for p in folder.rglob("*")) == ["confusion.png", "metrics.json", "model.keras", "plots",
                                                        "report.md"]
    assert (folder / "model.keras").read_text() == "the user's model.keras"


def test_a_foreign_history_csv_is_refused_not_a_traceback(tmp_path):
    (tmp_path / "history.csv").write_text("epoch,accuracy\n1,0.5\n")
    config.parse()
    with pytest.raises(ValueError, match="history.csv"):
        _train(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv"]


def test_overwrite_writes_into_the_folder_and_replaces_a_foreign_history(tmp_path):
    (tmp_path / "history.csv").write_text("epoch,accuracy\n1,0.5\n")
    (tmp_path / "notes.txt").write_text("kept")
    config.parse()
    _train(tmp_path, overwrite=True)
    assert json.loads((tmp_path / "state.json").read_text())["status"] == "finished"
    assert (tmp_path / MARKER).is_file() and (tmp_path / "notes.txt").read_text() == "kept"


def test_resume_with_a_changed_configuration_is_refused_with_a_diff(tmp_path):
    config.parse(params=["focal_loss.gamma = 2.0", "train.progress = False"])
    _train(tmp_path)
    state = json.loads((tmp_path / "state.json").read_text())
    # Pretend the run was interrupted after its first epoch.
    (tmp_path / "state.json").write_text(json.dumps({**state, "status": "running", "epochs_done": 1}))
    config.parse(params=["focal_loss.gamma = 3.0", "train.progress = True"])
    with pytest.raises(ValueError, match=r"(?s)another configuration.*-focal_loss.gamma = 2.0.*\+focal_loss.gamma = 3.0"):
        _train(tmp_path)
    # A harmless difference alone (the progress display) resumes.
    config.parse(params=["focal_loss.gamma = 2.0", "train.progress = True"])
    _train(tmp_path)
    # The documented override resumes anyway.
    (tmp_path / "state.json").write_text(json.dumps({**state, "status": "running", "epochs_done": 1}))
    config.parse(params=["focal_loss.gamma = 3.0"])
    _train(tmp_path, allow_config_change=True)
