"""The trainer composes the components it is given: gin bindings of them take effect, and the
GBM source's pretraining is an explicit stage that never touches the experiment it serves."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import gin
import pytest

from lggseg import config
from lggseg.data.synthetic import SyntheticSource
from lggseg.models import fc_densenet
from lggseg.training import Phase, SourceNotPretrained, gbm_source, train_with_source
from lggseg.training.trainer import compose_run, prepare_run

TINY_NET = dict(initial_filters=8, growth_rate=4, down_blocks=(1,), bottleneck_layers=1, up_blocks=(1,), dropout=0.0)


def _tiny_model():
    return fc_densenet(num_classes=4, **TINY_NET)


def _compose(tmp_path: Path):
    prepared = prepare_run(
        data=SyntheticSource(count=6, size=64, num_classes=4, seed=3), model=_tiny_model, run_dir=tmp_path,
        validation=None, splitter=None, val_fraction=0.3, split_seed=0, seed=0, normalizer=None, reference=None,
    )
    return compose_run(
        prepared, phases=[Phase(epochs=1)], loss=None, sampler=None, augmentation=None, tile_size=32,
        batch_size=2, steps_per_epoch=1, seed=0, workers=1, validate_every_epoch=False, progress=False,
        decision_rule=False, dataset=None, predictor=None, evaluator=None,
    )


def test_bindings_of_the_trainers_components_reach_the_objects_it_uses(tmp_path):
    config.parse(params=[
        "tile_dataset.shuffle = False",
        "tile_dataset.normalize_whole_images = False",
        "tile_dataset.max_queue_size = 3",
        "SlidingWindowPredictor.overlap = 0.5",
        "SlidingWindowPredictor.blend = 'mean'",
    ])
    run = _compose(tmp_path)
    assert run.dataset.shuffle is False
    assert run.dataset.normalize_whole_images is False
    assert run.predictor.overlap == 0.5 and run.predictor.blend == "mean"
    # What the trainer passes itself still comes from train's own arguments.
    assert run.dataset.tile_size == 32 and run.predictor.tile_size == 32
    gin.clear_config()


def test_without_bindings_the_components_keep_their_defaults(tmp_path):
    config.parse()
    run = _compose(tmp_path)
    assert run.dataset.shuffle is True and run.dataset.normalize_whole_images is True
    assert run.predictor.overlap == 0.25
    gin.clear_config()


def test_a_bound_evaluator_and_splitter_are_the_ones_called(tmp_path):
    config.parse(params=["split_by_group.stratify = False", "evaluate.keep_examples = 1"])
    train_fn = gin.get_configurable("lggseg.training.train")
    run_dir = train_fn(
        data=SyntheticSource(count=6, size=64, num_classes=4, seed=3), model=_tiny_model,
        run_dir=tmp_path / "run", phases=[Phase(layers_to_unfreeze="all", epochs=1)], tile_size=32,
        batch_size=2, steps_per_epoch=1, progress=False, decision_rule=False,
    )
    operative = (run_dir / "config.gin").read_text()
    # gin records a configurable's parameters only when it was called through gin.
    assert "split_by_group.stratify = False" in operative
    assert "evaluate.keep_examples = 1" in operative
    assert "tile_dataset.shuffle = True" in operative
    assert "SlidingWindowPredictor.overlap = 0.25" in operative
    gin.clear_config()


def test_gbm_source_only_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("LGGSEG_CACHE", str(tmp_path))
    with pytest.raises(SourceNotPretrained, match="not pretrained yet") as missing:
        gbm_source(architecture=lambda num_classes: fc_densenet(num_classes=num_classes, **TINY_NET))
    assert missing.value.stage.epochs == 4
    assert not any(tmp_path.iterdir())  # building trained nothing and wrote nothing


def test_the_pretraining_normaliser_is_part_of_the_stage_default_macenko_keeps_the_cache(tmp_path, monkeypatch):
    from lggseg.stain import Macenko

    monkeypatch.setenv("LGGSEG_CACHE", str(tmp_path))

    def stage(**kwargs):
        with pytest.raises(SourceNotPretrained) as missing:
            gbm_source(architecture=lambda num_classes: fc_densenet(num_classes=num_classes, **TINY_NET), **kwargs)
        return missing.value.stage

    default = stage()
    # A bound default Macenko is the stage every cache was made by.
    assert stage(pretrain_normalizer=Macenko()).run_dir == default.run_dir
    hematoxylin = stage(pretrain_normalizer=Macenko(stains=("H",)))
    assert hematoxylin.run_dir != default.run_dir
    assert hematoxylin.normalizer.stains == ("H",)
    assert "'stains': ['H']" in hematoxylin.requested()


def _loss_column(run_dir: Path) -> list[float]:
    with (run_dir / "history.csv").open() as fh:
        return [float(r["loss"]) for r in csv.DictReader(fh)]


@pytest.mark.slow
def test_pretraining_stage_runs_first_in_its_own_directory_and_leaves_the_experiment_alone(
    tmp_path, monkeypatch, gin_dir, tiny_params
):
    monkeypatch.setenv("LGGSEG_CACHE", str(tmp_path / "cache"))
    files = [gin_dir / "le_focus.gin", gin_dir / "quick.gin"]
    params = [*tiny_params, "EPOCHS_PER_PHASE = 1", "train.phases = [@head/phase(), @last10/phase()]"]

    def run(name: str) -> Path:
        config.parse(files=files, params=params)
        return train_with_source(gin.get_configurable("lggseg.training.train"), run_dir=tmp_path / name)

    cold = run("cold")  # pretrains the source first
    stages = list((tmp_path / "cache").glob("gbm_source-*"))
    assert len(stages) == 1
    stage = stages[0]
    assert json.loads((stage / "state.json").read_text())["status"] == "finished"
    record = (stage / "config.gin").read_text()
    assert "pretraining stage" in record and "gbm_source.pretrain_epochs = 1" in record
    assert "le_focus" not in record and "train.phases" not in record  # not the experiment's config
    assert not (cold / "gbm_source").exists()
    warm = run("warm")  # loads the cached source
    # The stage ran inside the cold run's process, yet both runs trained identically: it did not
    # touch the experiment's seed.
    assert _loss_column(cold) == pytest.approx(_loss_column(warm), abs=1e-6)
    assert json.loads((cold / "metrics.json").read_text())["accuracy"] == pytest.approx(
        json.loads((warm / "metrics.json").read_text())["accuracy"], abs=1e-6
    )
    gin.clear_config()


def test_a_stage_another_process_is_pretraining_is_waited_for_not_trained_twice(tmp_path, monkeypatch):
    import threading

    from filelock import FileLock

    monkeypatch.setenv("LGGSEG_CACHE", str(tmp_path))
    with pytest.raises(SourceNotPretrained) as missing:
        gbm_source(architecture=lambda num_classes: fc_densenet(num_classes=num_classes, **TINY_NET))
    stage = missing.value.stage
    other = FileLock(stage.lock_path)
    other.acquire()  # "another process" is pretraining
    result: list[Path] = []
    waiter = threading.Thread(target=lambda: result.append(stage.run()))
    waiter.start()
    waiter.join(timeout=2.0)
    assert waiter.is_alive() and not result  # it waits instead of training beside the other
    stage.run_dir.mkdir(parents=True)
    (stage.run_dir / "model.keras").write_bytes(b"the other process's model")
    other.release()
    waiter.join(timeout=60.0)
    assert result == [stage.run_dir / "model.keras"]
    assert sorted(p.name for p in stage.run_dir.iterdir()) == ["model.keras"]  # nothing trained here
