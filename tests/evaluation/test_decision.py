"""Rare-class decision rules fitted on validation pixels, reported beside the argmax."""

import numpy as np
import pytest

from lggseg.evaluation import DecisionRule, PixelSample, estimate_priors_em, fit_class_weights, prior_correction
from lggseg.evaluation.decision import sample_pixels
from lggseg.evaluation.metrics import confusion_from_predictions, scores_from_confusion

NAMES = ["BG", "CT", "LE", "IT"]


def _rare_class_pixels(n: int, seed: int):
    """A model that is sure of BG and CT but gives LE/IT only ~0.35 where they are the truth."""
    rng = np.random.default_rng(seed)
    y = rng.choice(4, size=n, p=[0.2, 0.6, 0.15, 0.05])
    centre = np.array(
        [
            [0.80, 0.10, 0.05, 0.05],  # BG pixels
            [0.10, 0.60, 0.20, 0.10],  # CT pixels
            [0.10, 0.50, 0.35, 0.05],  # LE pixels: CT wins the argmax
            [0.10, 0.55, 0.05, 0.30],  # IT pixels: CT wins the argmax
        ]
    )
    p = np.clip(centre[y] + rng.normal(0, 0.04, (n, 4)), 0.01, None)
    return y, (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def _scores(y, pred):
    return scores_from_confusion(confusion_from_predictions(y_true=y, y_pred=pred, num_classes=4), class_names=NAMES)


def test_fitted_class_weights_raise_rare_class_recall_on_held_out_pixels():
    y_val, p_val = _rare_class_pixels(20_000, seed=0)
    argmax = _scores(y_val, p_val.argmax(axis=1))
    assert argmax["per_class"]["LE"]["recall"] < 0.05 and argmax["per_class"]["IT"]["recall"] < 0.05

    rule = fit_class_weights(probs=p_val, y_true=y_val, class_names=NAMES)
    assert rule.kind == "class_weights" and rule.weights[NAMES.index("CT")] == 1.0
    assert rule.weights[NAMES.index("LE")] > 1.0 and rule.weights[NAMES.index("IT")] > 1.0

    y_test, p_test = _rare_class_pixels(20_000, seed=1)
    before = _scores(y_test, p_test.argmax(axis=1))
    after = _scores(y_test, rule.predict(p_test))
    assert after["per_class"]["LE"]["recall"] > 0.5 and after["per_class"]["IT"]["recall"] > 0.5
    assert after["macro_f1"] > before["macro_f1"] + 0.2
    # The trade: CT gives up recall (and keeps a high precision).
    assert after["per_class"]["CT"]["recall"] < before["per_class"]["CT"]["recall"]
    np.testing.assert_array_equal(rule.apply(p_test).argmax(axis=1), rule.predict(p_test))


def test_a_stratified_weighted_sample_fits_like_all_pixels():
    y, p = _rare_class_pixels(20_000, seed=2)
    sample = sample_pixels(y_true=y, probs=p, per_class=500, rng=np.random.default_rng(0))
    assert len(sample) == 4 * 500
    assert sample.weight.sum() == pytest.approx(y.size)
    both = PixelSample.concatenate([sample, sample])
    assert len(both) == 4000
    rule = fit_class_weights(probs=sample.probs, y_true=sample.y_true, sample_weight=sample.weight,
                             class_names=NAMES, objective="macro_f1_no_bg")
    assert _scores(y, rule.predict(p))["per_class"]["LE"]["recall"] > 0.5


def test_argmax_stays_when_it_is_already_best():
    y = np.array([0, 1, 2, 3] * 10)
    p = np.eye(4, dtype=np.float32)[y] * 0.7 + 0.075
    rule = fit_class_weights(probs=p, y_true=y, class_names=NAMES)
    assert rule.weights == (1.0, 1.0, 1.0, 1.0)


def test_prior_correction_divides_by_training_priors():
    rule = prior_correction(train_priors=[0.2, 0.6, 0.15, 0.05], class_names=NAMES)
    assert rule.weights == pytest.approx((3.0, 1.0, 4.0, 12.0))
    p = np.array([[0.1, 0.5, 0.35, 0.05]])
    assert rule.predict(p)[0] == NAMES.index("LE")
    assert rule.apply(p).sum() == pytest.approx(1.0)
    target = prior_correction(train_priors=[0.5, 0.5], target_priors=[0.8, 0.2], class_names=["A", "B"])
    assert target.weights == pytest.approx((1.0, 0.25))  # ratio 0.8/0.5 : 0.2/0.5
    with pytest.raises(ValueError, match="positive"):
        prior_correction(train_priors=[0.5, 0.5, 0.0], class_names=["A", "B", "C"])


def test_em_recovers_shifted_priors():
    # Two 1-D Gaussian classes; calibrated posteriors under equal training priors.
    rng = np.random.default_rng(0)
    y = rng.choice(2, size=40_000, p=[0.8, 0.2])
    x = rng.normal(np.where(y == 0, -1.0, 1.0), 1.0)
    like = np.stack([np.exp(-0.5 * (x + 1) ** 2), np.exp(-0.5 * (x - 1) ** 2)], axis=1)
    post = like / like.sum(axis=1, keepdims=True)
    priors = estimate_priors_em(probs=post, train_priors=[0.5, 0.5])
    assert priors == pytest.approx([0.8, 0.2], abs=0.02)


def test_rules_round_trip_through_json(tmp_path):
    rule = prior_correction(train_priors=[0.2, 0.6, 0.15, 0.05], class_names=NAMES)
    back = DecisionRule.load(rule.save(tmp_path / "rule.json"))
    assert back == rule
    with pytest.raises(ValueError, match="weights"):
        DecisionRule(kind="x", class_names=("A",), weights=(1.0, 2.0))
