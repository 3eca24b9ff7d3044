"""Unlabelled pixels (IGNORE_INDEX) in evaluation: left out of every count, counted as ignored."""

import numpy as np
import pytest

from lggseg.classes import IGNORE_INDEX, IVYGAP_8, LGG_4, ivygap_to_lgg
from lggseg.data.source import DataSource, Sample
from lggseg.evaluation import (
    ConfusionAccumulator,
    SlidingWindowPredictor,
    confusion_from_predictions,
    evaluate,
    fit_class_weights,
    write_report,
)
from lggseg.evaluation.decision import sample_pixels
from lggseg.evaluation.overlay import IGNORE_COLOUR, colourize, hatch, overlay

CODES = list(LGG_4.codes)


@pytest.fixture
def pixels():
    rng = np.random.default_rng(0)
    y = rng.choice(4, size=(16, 16), p=[0.3, 0.4, 0.2, 0.1])
    logits = rng.normal(0, 1, (16, 16, 4)) + 1.5 * np.eye(4)[y]
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    ignored = rng.random((16, 16)) < 0.3
    y_ignored = np.where(ignored, IGNORE_INDEX, y).astype(np.uint8)
    return y, y_ignored, p, ignored


def test_metrics_with_ignored_pixels_equal_metrics_of_the_labelled_pixels_alone(pixels):
    _, y_ignored, p, ignored = pixels
    with_ignored = ConfusionAccumulator(num_classes=4, bins=10)
    with_ignored.update(y_true=y_ignored, probs=p)
    dropped = ConfusionAccumulator(num_classes=4, bins=10)
    dropped.update(y_true=y_ignored[~ignored], probs=p[~ignored])
    r, expected = with_ignored.result(class_names=CODES), dropped.result(class_names=CODES)
    assert r["ignored_pixels"] == int(ignored.sum()) and expected["ignored_pixels"] == 0
    assert r["pixels"] == int((~ignored).sum())
    assert {**r, "ignored_pixels": 0} == expected
    # Merging adds the ignored counts too.
    other = ConfusionAccumulator(num_classes=4, bins=10)
    other.update(y_true=y_ignored, probs=p)
    assert with_ignored.merge(other).result(class_names=CODES)["ignored_pixels"] == 2 * int(ignored.sum())


def test_confusion_from_predictions_leaves_out_ignored_pixels_by_default(pixels):
    _, y_ignored, p, ignored = pixels
    pred = p.argmax(-1)
    got = confusion_from_predictions(y_true=y_ignored, y_pred=pred, num_classes=4)
    want = confusion_from_predictions(y_true=y_ignored[~ignored], y_pred=pred[~ignored], num_classes=4)
    np.testing.assert_array_equal(got, want)
    # Only 255 means unlabelled: any other out-of-range class is still an error.
    with pytest.raises(ValueError, match="class indices"):
        confusion_from_predictions(y_true=np.array([0, 7]), y_pred=np.array([0, 1]), num_classes=4)
    with pytest.raises(ValueError, match="class indices"):
        confusion_from_predictions(y_true=y_ignored, y_pred=pred, num_classes=4, ignore_index=None)


def test_decision_rules_never_see_ignored_pixels(pixels):
    _, y_ignored, p, ignored = pixels
    sample = sample_pixels(y_true=y_ignored, probs=p, per_class=5, rng=np.random.default_rng(0))
    assert len(sample) and not (sample.y_true == IGNORE_INDEX).any()
    fitted = fit_class_weights(probs=p, y_true=y_ignored, class_names=CODES)
    alone = fit_class_weights(probs=p[~ignored], y_true=y_ignored[~ignored], class_names=CODES)
    assert fitted == alone


def _source(scheme, *, ignored_share=0.3, n=2, size=(24, 20)):
    rng = np.random.default_rng(3)
    samples = []
    for i in range(n):
        mask = rng.integers(0, scheme.num_classes, size, dtype=np.uint8)
        mask[rng.random(size) < ignored_share] = IGNORE_INDEX
        samples.append(Sample(image=rng.integers(0, 256, size + (3,), dtype=np.uint8), mask=mask, name=f"img{i}"))
    return DataSource(samples=samples, scheme=scheme)


def test_evaluate_counts_ignored_pixels_through_a_class_mapping(fc_model):
    source = _source(IVYGAP_8)
    predictor = SlidingWindowPredictor(model=fc_model(num_classes=4), tile_size=16)
    result = evaluate(predictor=predictor, source=source, sample_pixels_per_class=5, keep_examples=1)
    ignored = int(source.ignored_pixels().sum())
    assert ignored > 0 and result.metrics["ignored_pixels"] == ignored
    assert result.metrics["pixels"] + ignored == 2 * 24 * 20
    lut = ivygap_to_lgg().lookup()
    labelled = np.concatenate([lut[s.mask[s.mask != IGNORE_INDEX]] for s in source])
    assert [result.metrics["per_class"][c]["support"] for c in CODES] == np.bincount(labelled, minlength=4).tolist()
    assert not (result.pixels.y_true == IGNORE_INDEX).any()
    # The example keeps its unlabelled pixels for the overlay.
    np.testing.assert_array_equal(result.examples[0].mask == IGNORE_INDEX, source[0].mask == IGNORE_INDEX)


def test_report_states_the_ignored_pixels(tmp_path, pixels):
    _, y_ignored, p, ignored = pixels
    acc = ConfusionAccumulator(num_classes=4)
    acc.update(y_true=y_ignored, probs=p)
    text = write_report(out_dir=tmp_path, metrics=acc.result(class_names=CODES), scheme=LGG_4).read_text()
    assert f"Ignored (unlabelled) pixels: {int(ignored.sum()):,}" in text


def test_overlay_hatches_ignored_pixels_in_a_colour_of_no_class():
    assert IGNORE_COLOUR not in LGG_4.colours and IGNORE_COLOUR not in IVYGAP_8.colours
    image = np.full((8, 8, 3), 100, np.uint8)
    mask = np.full((8, 8), IGNORE_INDEX, np.uint8)
    mask[0, 0] = 1
    out = overlay(image, mask, scheme=LGG_4, alpha=1.0)
    stripes = hatch(mask.shape) & (mask == IGNORE_INDEX)
    assert stripes.any() and (~stripes & (mask == IGNORE_INDEX)).any()
    assert (out[stripes] == IGNORE_COLOUR).all()
    assert (out[~stripes & (mask == IGNORE_INDEX)] == 100).all()  # the image between the stripes
    assert tuple(out[0, 0]) == LGG_4.colours[1]
    assert tuple(colourize(mask, scheme=LGG_4)[1, 1]) == IGNORE_COLOUR
