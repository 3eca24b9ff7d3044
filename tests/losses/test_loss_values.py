"""Loss values against numpy on tiny arrays, Keras' own focal loss, finite gradients."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from lggseg.losses import LOSSES, CrossEntropy, DiceLoss, FocalDice, FocalLoss, make_loss

EPS = keras.config.epsilon()


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 5, 4)).astype(np.float32) * 2
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = rng.integers(0, 4, size=(2, 3, 5)).astype(np.int32)
    return labels, probs.astype(np.float32), logits


def _value(loss, labels, probs) -> float:
    return float(ops.convert_to_numpy(loss(labels, probs)))


def _true_prob(labels, probs):
    return np.take_along_axis(np.clip(probs, EPS, 1 - EPS), labels[..., None], axis=-1)[..., 0]


def _np_focal(labels, probs, gamma, alpha):
    p = _true_prob(labels, probs)
    a = np.asarray(alpha)[labels] if np.ndim(alpha) else alpha
    return float(np.mean(-a * (1 - p) ** gamma * np.log(p)))


def _np_dice_per_image(labels, probs, smooth, classes=None):
    onehot = np.eye(probs.shape[-1])[labels]
    inter = (probs * onehot).sum(axis=(1, 2))
    denom = probs.sum(axis=(1, 2)) + onehot.sum(axis=(1, 2))
    dice = (2 * inter + smooth) / (denom + smooth)
    if classes is not None:
        dice = dice[:, classes]
    return 1 - dice.mean(axis=-1)


def test_focal_equals_keras_categorical_focal_crossentropy_on_one_hot_targets(data):
    labels, probs, _ = data
    ours = _value(FocalLoss(gamma=2.0, alpha=0.25), labels, probs)
    onehot = np.eye(4, dtype=np.float32)[labels]
    keras_focal = keras.losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0)
    theirs = float(ops.convert_to_numpy(keras_focal(onehot, probs)))
    assert ours == pytest.approx(theirs, rel=1e-6)
    assert ours == pytest.approx(_np_focal(labels, probs, 2.0, 0.25), rel=1e-5)


def test_focal_per_class_alpha_by_list_and_by_name(data):
    labels, probs, _ = data
    alpha = [0.1, 0.2, 0.9, 0.7]
    expected = _np_focal(labels, probs, 1.5, alpha)
    assert _value(FocalLoss(gamma=1.5, alpha=alpha), labels, probs) == pytest.approx(expected, rel=1e-5)
    by_name = FocalLoss(gamma=1.5, alpha={"bg": 0.1, "CT": 0.2, "LE": 0.9, "IT": 0.7})
    assert by_name.alpha == alpha
    assert _value(by_name, labels, probs) == pytest.approx(expected, rel=1e-5)
    # Unnamed classes keep the paper's 0.25.
    assert FocalLoss(alpha={"LE": 0.9}).alpha == [0.25, 0.25, 0.9, 0.25]


def test_focal_with_gamma_zero_and_alpha_one_is_cross_entropy(data):
    labels, probs, _ = data
    assert _value(FocalLoss(gamma=0.0, alpha=1.0), labels, probs) == pytest.approx(
        _value(CrossEntropy(), labels, probs), rel=1e-5
    )


def test_cross_entropy_with_and_without_class_weights(data):
    labels, probs, _ = data
    ce = -np.log(_true_prob(labels, probs))
    assert _value(CrossEntropy(), labels, probs) == pytest.approx(float(ce.mean()), rel=1e-5)
    weights = np.array([0.5, 1.0, 3.0, 10.0])
    assert _value(CrossEntropy(class_weights=list(weights)), labels, probs) == pytest.approx(
        float((weights[labels] * ce).mean()), rel=1e-5
    )
    assert CrossEntropy(class_weights={"IT": 10.0, "LE": 3.0}).class_weights == [1.0, 1.0, 3.0, 10.0]


@pytest.mark.parametrize("classes, index", [(None, None), (("LE", "IT"), [2, 3]), ([1], [1])])
def test_dice_matches_numpy(data, classes, index):
    labels, probs, _ = data
    expected = _np_dice_per_image(labels, probs, 1.0, index).mean()
    assert _value(DiceLoss(classes=classes), labels, probs) == pytest.approx(float(expected), rel=1e-5)


def test_dice_is_zero_for_a_perfect_prediction_and_large_for_a_wrong_one():
    labels = np.array([[[0, 1], [2, 3]]], dtype=np.int32)
    perfect = np.eye(4, dtype=np.float32)[labels]
    assert _value(DiceLoss(smooth=0.0), labels, perfect) == pytest.approx(0.0, abs=1e-6)
    wrong = np.eye(4, dtype=np.float32)[(labels + 1) % 4]
    assert _value(DiceLoss(smooth=0.0), labels, wrong) == pytest.approx(1.0, abs=1e-6)


def test_focal_dice_is_the_weighted_sum(data):
    labels, probs, _ = data
    focal = _np_focal(labels, probs, 2.0, 0.25)
    dice = float(_np_dice_per_image(labels, probs, 1.0).mean())
    loss = FocalDice(focal_weight=2.0, dice_weight=0.5)
    assert _value(loss, labels, probs) == pytest.approx(2.0 * focal + 0.5 * dice, rel=1e-5)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_from_logits_equals_softmax_first(data, name):
    labels, probs, logits = data
    with_logits = make_loss(name, options={"from_logits": True})
    plain = make_loss(name)
    assert _value(with_logits, labels, logits) == pytest.approx(_value(plain, labels, probs), rel=1e-4)


def test_index_masks_with_a_channel_axis_are_accepted(data):
    labels, probs, _ = data
    assert _value(FocalLoss(), labels[..., None], probs) == pytest.approx(_value(FocalLoss(), labels, probs))
    with pytest.raises(ValueError, match="index masks"):
        FocalLoss()(np.eye(4)[labels], probs)  # one-hot targets are not index masks


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradients_are_finite_even_for_certain_wrong_predictions(data, name, gradient):
    labels, probs, _ = data
    # One-hot predictions of the wrong class: probabilities of exactly 0 and 1.
    hard = np.eye(4, dtype=np.float32)[(labels + 1) % 4]
    grad = gradient(make_loss(name), labels, probs)
    assert grad.shape == probs.shape and np.isfinite(grad).all() and np.abs(grad).sum() > 0
    # Clipping keeps log(0) out; the gradient at the clip may be 0 (TensorFlow) but never NaN.
    assert np.isfinite(gradient(make_loss(name), labels, hard)).all()


def test_bad_arguments_name_the_valid_choices():
    with pytest.raises(ValueError, match=r"'focal'.*focal_loss, cross_entropy, dice_loss, focal_dice"):
        make_loss("focal")
    with pytest.raises(ValueError, match=r"\['gama'\].*gamma"):
        make_loss("focal_loss", options={"gama": 2.0})
    with pytest.raises(ValueError, match=r"'NE'.*BG, CT, LE, IT"):
        FocalLoss(alpha={"NE": 0.5})
    with pytest.raises(ValueError, match="one value per class"):
        FocalLoss(alpha=[0.25, 0.25])
    with pytest.raises(ValueError, match=r"'XX'.*BG, CT, LE, IT"):
        DiceLoss(classes=("XX",))
    with pytest.raises(ValueError, match="single number"):
        CrossEntropy(class_weights=2.0)
    # Per-class values must match the prediction's classes (an 8-class model here).
    probs8 = np.full((1, 2, 2, 8), 1 / 8, dtype=np.float32)
    with pytest.raises(ValueError, match="8 classes"):
        FocalLoss(alpha=[0.1, 0.2, 0.3, 0.4])(np.zeros((1, 2, 2), np.int32), probs8)
