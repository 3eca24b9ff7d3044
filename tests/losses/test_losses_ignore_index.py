"""Unlabelled pixels (IGNORE_INDEX) in the targets: they count in no loss, means run over the rest."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from lggseg.classes import IGNORE_INDEX
from lggseg.losses import LOSSES, CrossEntropy, DiceLoss, FocalDice, FocalLoss, make_loss

# Pixel-mean losses: over a batch, the loss with ignored pixels is the loss of the valid
# pixels alone, whatever array shape they are put in.
PIXEL_MEAN = {
    "focal": lambda: FocalLoss(gamma=2.0, alpha=[0.1, 0.2, 0.9, 0.7]),
    "cross_entropy": lambda: CrossEntropy(),
    "weighted_cross_entropy": lambda: CrossEntropy(class_weights={"LE": 3.0, "IT": 5.0}),
}


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 4, 4, 4)).astype(np.float32) * 2
    probs = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype(np.float32)
    labels = rng.integers(0, 4, size=(2, 4, 4)).astype(np.int32)
    ignored = rng.random(size=labels.shape) < 0.4
    ignored[1, 0, 0] = False  # every image keeps a labelled pixel
    ignored[0, 0, 0] = True
    labels[ignored] = IGNORE_INDEX
    return labels, probs, ignored


def _value(loss, labels, probs) -> float:
    return float(ops.convert_to_numpy(loss(labels, probs)))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_predictions_at_ignored_pixels_do_not_change_the_loss(data, name, gradient):
    labels, probs, ignored = data
    other = probs.copy()
    other[ignored] = np.roll(other[ignored], 1, axis=-1)  # a different distribution there
    assert not np.allclose(other, probs)
    loss = make_loss(name)
    assert _value(loss, labels, other) == pytest.approx(_value(loss, labels, probs), rel=1e-6)
    grad = gradient(loss, labels, probs)
    assert np.isfinite(grad).all() and np.abs(grad[ignored]).max() == 0.0


@pytest.mark.parametrize("name", sorted(PIXEL_MEAN))
def test_pixel_mean_losses_equal_the_loss_of_the_valid_pixels_alone(data, name):
    labels, probs, ignored = data
    loss = PIXEL_MEAN[name]()
    kept = ~ignored
    alone = _value(loss, labels[kept][None, None, :], probs[kept][None, None, :, :])
    assert _value(loss, labels, probs) == pytest.approx(alone, rel=1e-5)


def test_dice_equals_the_dice_of_each_images_valid_pixels_alone(data):
    labels, probs, ignored = data
    loss = DiceLoss(smooth=1.0)
    per_image = [
        _value(loss, labels[b][~ignored[b]][None, None, :], probs[b][~ignored[b]][None, None, :, :])
        for b in range(len(labels))
    ]
    assert _value(loss, labels, probs) == pytest.approx(np.mean(per_image), rel=1e-5)


def test_focal_dice_is_focal_plus_dice_with_ignored_pixels(data):
    labels, probs, _ = data
    combined = _value(FocalDice(focal_weight=2.0, dice_weight=0.5), labels, probs)
    focal, dice = _value(FocalLoss(), labels, probs), _value(DiceLoss(), labels, probs)
    assert combined == pytest.approx(2.0 * focal + 0.5 * dice, rel=1e-5)


def test_an_image_without_labelled_pixels_is_left_out_of_the_dice_mean(data):
    labels, probs, _ = data
    labels = labels.copy()
    labels[0] = IGNORE_INDEX
    both = _value(DiceLoss(), labels, probs)
    assert both == pytest.approx(_value(DiceLoss(), labels[1:], probs[1:]), rel=1e-6)


@pytest.mark.parametrize("smooth", [1.0, 0.0])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_an_all_ignored_batch_gives_zero_and_a_finite_gradient(data, name, smooth, gradient):
    _, probs, _ = data
    labels = np.full(probs.shape[:-1], IGNORE_INDEX, dtype=np.int32)
    options = {"smooth": smooth} if name == "dice_loss" else {}
    loss = make_loss(name, options=options)
    assert _value(loss, labels, probs) == 0.0
    grad = gradient(loss, labels, probs)
    assert np.isfinite(grad).all() and np.abs(grad).max() == 0.0


def test_without_ignored_pixels_the_values_are_unchanged(data):
    # The scaling is total / valid = 1 when every pixel is labelled.
    _, probs, _ = data
    labels = np.random.default_rng(2).integers(0, 4, size=probs.shape[:-1]).astype(np.int32)
    p = np.take_along_axis(np.clip(probs, keras.config.epsilon(), 1), labels[..., None], -1)[..., 0]
    assert _value(CrossEntropy(), labels, probs) == pytest.approx(float(np.mean(-np.log(p))), rel=1e-5)


def test_uint8_masks_with_255_are_accepted(data):
    labels, probs, _ = data
    as_uint8 = labels.astype(np.uint8)
    assert _value(FocalLoss(), as_uint8, probs) == pytest.approx(_value(FocalLoss(), labels, probs), rel=1e-6)
