"""End-to-end training: shipped gin files, resume after an interrupt, NaN guard, phases."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import gin
import keras
import numpy as np
import pytest

from lggseg import config
from lggseg.classes import LGG_4
from lggseg.data.synthetic import SyntheticSource
from lggseg.models import fc_densenet, gbm_transfer
from lggseg.training import Phase, TrainingDiverged, UniformSampler, train, train_with_source

def _history(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "history.csv").open() as fh:
        return list(csv.DictReader(fh))


def _binds_a_model() -> bool:
    try:
        gin.query_parameter("lggseg.training.train.model")
    except ValueError:
        return False
    return True


@pytest.mark.slow
def test_shipped_config_trains_with_quick_profile(shipped_config, tiny_cache, tiny_params, gin_dir, tmp_path):
    # shipped_config: every gin/*.gin but the benchmark suites (tests/conftest.py).
    config.parse(files=[shipped_config])
    if not _binds_a_model():
        # An override profile (quick.gin): it parsed alone, so every binding names a real
        # parameter, and every experiment here trains with it applied.
        assert "train.model" not in shipped_config.read_text()
        return
    files = [shipped_config, gin_dir / "quick.gin"]
    config.parse(files=files, params=tiny_params)
    run_dir = train_with_source(gin.get_configurable("lggseg.training.train"), run_dir=tmp_path / shipped_config.stem)
    for item in ("config.gin", "history.csv", "model.keras", "metrics.json", "report.md", "classes.tsv",
                 "resolution.json"):
        assert (run_dir / item).exists(), item
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0
    state = json.loads((run_dir / "state.json").read_text())
    assert state["status"] == "finished"
    # The operative config records what was actually used.
    assert "train.phases" in (run_dir / "config.gin").read_text()


def _tiny_source(count: int = 8) -> SyntheticSource:
    return SyntheticSource(count=count, size=64, num_classes=4, seed=3)


def _tiny_model() -> keras.Model:
    return fc_densenet(
        num_classes=4, initial_filters=8, growth_rate=4, down_blocks=(1,), bottleneck_layers=1,
        up_blocks=(1,), dropout=0.0,
    )


class _InterruptAfter:
    """An identity augmentation that raises KeyboardInterrupt (as Ctrl-C would) on its Nth call."""

    def __init__(self, n: int):
        self.calls, self.n = 0, n

    def __call__(self, image, mask, *, rng):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return image, mask


def test_interrupted_run_resumes_without_losing_a_finished_phase(tmp_path):
    phases = [Phase(layers_to_unfreeze="all", learning_rate=1e-3, epochs=2)] * 2
    common = dict(
        data=_tiny_source(), model=_tiny_model, run_dir=tmp_path, phases=phases, tile_size=32,
        batch_size=4, steps_per_epoch=2, progress=False, seed=1, sampler=UniformSampler(),
    )
    # 8 tiles an epoch, and 8 more read after phase 1 to re-estimate its BatchNorm statistics:
    # call 37 falls in phase 2 (Keras may read a batch or two ahead).
    with pytest.raises(KeyboardInterrupt):
        train(**common, augmentation=_InterruptAfter(37))
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["phases_done"] == 1 and state["status"] == "running"
    phase_1 = (tmp_path / "phase_1.keras").stat().st_mtime_ns
    train(**common, augmentation=_InterruptAfter(-1))
    assert (tmp_path / "phase_1.keras").stat().st_mtime_ns == phase_1  # not trained again
    rows = _history(tmp_path)
    assert [(int(r["phase"]), int(r["epoch"])) for r in rows] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert json.loads((tmp_path / "state.json").read_text())["status"] == "finished"


class _NaNLoss(keras.losses.Loss):
    def call(self, y_true, y_pred):
        return keras.ops.mean(y_pred) * np.nan


def test_nan_loss_stops_with_a_clear_message(tmp_path):
    with pytest.raises(TrainingDiverged, match="NaN"):
        train(
            data=_tiny_source(), model=_tiny_model, run_dir=tmp_path, loss=_NaNLoss(),
            phases=[Phase(epochs=2)], tile_size=32, batch_size=4, steps_per_epoch=2, progress=False,
        )
    assert json.loads((tmp_path / "state.json").read_text())["status"] == "diverged"


def test_phases_change_trainable_counts_and_loss_falls(tmp_path):
    source = gbm_transfer(source=fc_densenet(
        num_classes=8, initial_filters=8, growth_rate=4, down_blocks=(1,), bottleneck_layers=1,
        up_blocks=(1,), dropout=0.0,
    ), num_classes=4)
    phases = [Phase(layers_to_unfreeze=0, learning_rate=1e-2, epochs=3),
              Phase(layers_to_unfreeze="all", learning_rate=1e-3, epochs=3)]
    run = train(
        data=_tiny_source(12), model=lambda: source, run_dir=tmp_path, phases=phases, tile_size=32,
        batch_size=4, steps_per_epoch=4, progress=False, seed=0,
    )
    rows = _history(run)
    losses = [float(r["loss"]) for r in rows]
    assert losses[-1] < losses[0]
    assert source.count_params() > 0
    text = (run / "report.md").read_text()
    assert "LE" in text
    # The rare-class decision rule is fitted on validation and reported beside the argmax.
    assert (run / "decision_rule.json").is_file()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["decision_rules"] and "per_class" in metrics


def test_model_with_wrong_class_count_is_rejected_before_training(tmp_path):
    with pytest.raises(ValueError, match="predicts 8 classes"):
        train(
            data=_tiny_source(), model=lambda: fc_densenet(
                num_classes=8, initial_filters=8, growth_rate=4, down_blocks=(1,),
                bottleneck_layers=1, up_blocks=(1,),
            ),
            run_dir=tmp_path, tile_size=32, batch_size=4, steps_per_epoch=1, progress=False,
        )
    assert not (tmp_path / "checkpoint.keras").exists()
    assert LGG_4.num_classes == 4


def test_freeze_batchnorm_keeps_every_batchnorm_in_inference_mode():
    from lggseg.training.schedule import apply_phase

    net = _tiny_model()
    trained = apply_phase(net, Phase(layers_to_unfreeze="all"))
    kept = apply_phase(net, Phase(layers_to_unfreeze="all", freeze_batchnorm=True))
    bn = [layer for layer in net.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert bn and not any(layer.trainable for layer in bn)
    gamma_beta = sum(int(np.prod(w.shape)) for layer in bn for w in (layer.gamma, layer.beta))
    assert kept["trainable"] == trained["trainable"] - gamma_beta


def test_a_phase_says_how_it_counts_layers_and_refuses_an_unknown_count():
    assert Phase(layers_to_unfreeze=10, count="layers").describe().startswith("last 10 layers,")
    assert Phase(layers_to_unfreeze=10).describe().startswith("last 10 weighted layers,")
    with pytest.raises(ValueError, match="Unknown layer count phase.count='keras'; valid: weighted, layers"):
        Phase(count="keras")
