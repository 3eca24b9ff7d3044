"""A test fold is set aside before the split, chooses nothing, and is scored once at the end."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from lggseg.data import cv_fold
from lggseg.data.synthetic import SyntheticSource
from lggseg.models import fc_densenet
from lggseg.training import Phase, train

TINY_NET = dict(initial_filters=8, growth_rate=4, down_blocks=(1,), bottleneck_layers=1, up_blocks=(1,), dropout=0.0)


def _tiny_model():
    return fc_densenet(num_classes=4, **TINY_NET)


def _train(run_dir, *, fold: int, **overrides):
    settings = dict(
        data=SyntheticSource(count=8, size=48, num_classes=4, seed=3), model=_tiny_model, run_dir=run_dir,
        phases=[Phase(epochs=1, layers_to_unfreeze="all")], test_fold=functools.partial(cv_fold, folds=4, fold=fold),
        val_fraction=0.3, tile_size=32, batch_size=2, steps_per_epoch=1, progress=False,
    )
    settings.update(overrides)
    return train(**settings)


def test_the_test_fold_is_apart_from_training_and_validation_and_scored_at_the_end(tmp_path):
    run_dir = _train(tmp_path / "run", fold=1)
    split = json.loads((run_dir / "split.json").read_text())
    test = set(split["test"])
    assert test and not test & (set(split["train"]) | set(split["validation"]))
    assert split["cross_validation"]["fold"] == 1
    assert sorted(g for g, f in split["cross_validation"]["assignment"].items() if f == 1) == sorted(test)
    # The final report scores validation pixels only; test/ the test images' pixels only.
    source = SyntheticSource(count=8, size=48, num_classes=4, seed=3)
    pixels = {name: s.mask.size for name, s in zip(source.names, source)}
    validation = json.loads((run_dir / "metrics.json").read_text())
    scored = json.loads((run_dir / "test" / "metrics.json").read_text())
    assert np.sum(validation["confusion"]) == sum(pixels[n] for n in split["validation"])
    assert np.sum(scored["confusion"]) == sum(pixels[n] for n in test)
    # The decision rule was fitted on validation and is reported beside the argmax on test.
    assert (run_dir / "decision_rule.json").is_file()
    assert scored["decision_rules"] and (run_dir / "test" / "report.md").is_file()


def test_each_fold_tests_other_images(tmp_path):
    tests = [set(json.loads((_train(tmp_path / f"f{k}", fold=k, decision_rule=False) / "split.json").read_text())["test"])
             for k in (0, 2)]
    assert tests[0] and tests[1] and not tests[0] & tests[1]


def test_a_validation_source_and_a_test_fold_together_are_refused_before_any_file(tmp_path):
    validation = SyntheticSource(count=2, size=48, num_classes=4, seed=9)
    with pytest.raises(ValueError, match="train.validation and train.test_fold"):
        _train(tmp_path / "run", fold=0, validation=validation)
    assert not (tmp_path / "run" / "split.json").exists() and not (tmp_path / "run" / "state.json").exists()
