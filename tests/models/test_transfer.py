"""The transfer head and the "last N layers" freezing, on GBM_WSSM's full size and tiny models."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lggseg.models import fc_densenet, freeze_all_but_last, gbm_transfer


@pytest.fixture(scope="module")
def full_counts():
    """Trainable counts of the full-size transfer model at n = 0, 10, 25, 50, 'all' (build only)."""
    with keras.StatelessScope(initialize_variables=False):
        model = gbm_transfer(source=fc_densenet())
        counts = {n: freeze_all_but_last(model, n=n) for n in (0, 10, 25, 50, "all")}
        counts.update({("layers", n): freeze_all_but_last(model, n=n, count="layers") for n in (10, 25, 50)})
        total = model.count_params()
        names = [layer.name for layer in model.layers[-3:]]
    keras.backend.clear_session()
    return counts, total, names


def test_head_only_is_4180(full_counts):
    counts, total, names = full_counts
    assert names == ["head_conv", "head_classifier", "head_softmax"]
    assert counts[0]["trainable"] == 256 * 16 + 16 + 16 * 4 + 4 == 4180
    # GBM_WSSM without its 8-class classifier, plus the head.
    assert total == 9_424_392 - (256 * 8 + 8) + 4180
    assert counts[0]["trainable"] + counts[0]["non_trainable"] == total


def test_last_ten_layers_by_hand(full_counts):
    counts, _, _ = full_counts
    # The last 10 weighted layers: the 4 dense layers of the last up block (BN gamma/beta
    # 2C + 3x3 conv 144C + 16 each, C = 192, 208, 224, 240 input maps), its transition
    # up (3x3, 80 -> 80 maps) and the conv of the previous block's last dense layer (368 maps in).
    last_block = sum(2 * c + 144 * c + 16 for c in (192, 208, 224, 240))
    transition_up = 9 * 80 * 80 + 80
    previous_conv = 144 * 368 + 16
    assert counts[10]["trainable"] == 4180 + last_block + transition_up + previous_conv
    assert counts[10]["unfrozen_layers"] == 10


def test_counts_grow_to_everything(full_counts):
    counts, total, _ = full_counts
    trainable = [counts[n]["trainable"] for n in (0, 10, 25, 50, "all")]
    assert trainable == sorted(set(trainable))
    # With everything unfrozen only the BN moving statistics are not trainable.
    assert counts["all"]["unfrozen_layers"] == 198
    assert counts["all"]["non_trainable"] == total - counts["all"]["trainable"]


def test_the_keras_slice_count_is_the_methods(full_counts):
    counts, _, _ = full_counts
    # model.layers[-N:] of the full-size transfer model, as the method's code unfroze it.
    assert [counts[("layers", n)]["trainable"] for n in (10, 25, 50)] == [39_236, 130_388, 433_428]


def test_the_keras_slice_unfreezes_exactly_the_last_layers(tiny_config):
    model = gbm_transfer(source=fc_densenet(**tiny_config), num_classes=4)
    counts = freeze_all_but_last(model, n=12, count="layers")
    assert counts["unfrozen_layers"] == 12
    expected = {layer.name for layer in model.layers[-12:] if layer.weights}
    assert {layer.name for layer in model.layers if layer.weights and layer.trainable} == expected
    weighted = freeze_all_but_last(model, n=12)  # 12 weighted layers reach further back
    assert weighted["trainable"] > counts["trainable"]
    with pytest.raises(ValueError, match="unknown count 'all'; valid: weighted, layers"):
        freeze_all_but_last(model, n=1, count="all")


def test_frozen_batchnorm_runs_in_inference_mode(tiny_config):
    model = gbm_transfer(source=fc_densenet(**{**tiny_config, "dropout": 0.0}), num_classes=4)
    freeze_all_but_last(model, n=0)
    bn = model.get_layer("down1_layer1_bn")
    before = np.asarray(bn.moving_mean).copy()
    x = np.random.default_rng(0).random((2, 16, 16, 3), dtype=np.float32) * 5
    train_out = np.asarray(model(x, training=True))
    infer_out = np.asarray(model(x, training=False))
    np.testing.assert_allclose(train_out, infer_out, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(bn.moving_mean), before)


def test_bad_arguments(tiny_config):
    source = fc_densenet(**tiny_config)
    with pytest.raises(ValueError, match="has no layer 'nope'"):
        gbm_transfer(source=source, feature_layer="nope")
    model = gbm_transfer(source=source, feature_layer="up2_layer1_concat", num_classes=3)
    assert model.output.shape[-1] == 3
    with pytest.raises(ValueError, match="integer >= 0 or 'all'"):
        freeze_all_but_last(model, n=-1)
    with pytest.raises(ValueError, match="no head layer"):
        freeze_all_but_last(source, n=3)
    assert freeze_all_but_last(source, n=2, head_layers=())["unfrozen_layers"] == 2
