"""ConfusionAccumulator against hand-computed confusion matrices and probability tables."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lggseg.evaluation.metrics import ConfusionAccumulator, confusion_from_predictions, scores_from_confusion

NAMES = ["BG", "CT", "LE", "IT"]

# Seven pixels, IT absent. Confidences avoid bin edges (bins=10) and the 0.3/0.5 thresholds.
Y = np.array([0, 0, 1, 1, 1, 2, 2])
P = np.array(
    [
        [0.62, 0.18, 0.10, 0.10],  # BG -> BG
        [0.42, 0.48, 0.05, 0.05],  # BG -> CT
        [0.05, 0.85, 0.05, 0.05],  # CT -> CT
        [0.22, 0.68, 0.05, 0.05],  # CT -> CT
        [0.55, 0.25, 0.10, 0.10],  # CT -> BG
        [0.15, 0.58, 0.22, 0.05],  # LE -> CT
        [0.10, 0.15, 0.72, 0.03],  # LE -> LE
    ],
    dtype=np.float32,
)
CONFUSION = [[1, 1, 0, 0], [1, 2, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]]


def _result(bins=10):
    acc = ConfusionAccumulator(num_classes=4, bins=bins)
    acc.update(y_true=Y, probs=P)
    return acc.result(class_names=NAMES)


def test_confusion_and_scores_match_hand_computation():
    r = _result()
    assert r["confusion"] == CONFUSION
    assert r["pixels"] == 7
    assert r["accuracy"] == pytest.approx(4 / 7)
    pc = r["per_class"]
    assert pc["BG"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "iou": 1 / 3, "dice": 0.5, "support": 2, "predicted": 2}
    )
    assert pc["CT"] == pytest.approx(
        {"precision": 0.5, "recall": 2 / 3, "f1": 4 / 7, "iou": 2 / 5, "dice": 4 / 7, "support": 3, "predicted": 4}
    )
    assert pc["LE"] == pytest.approx(
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "iou": 0.5, "dice": 2 / 3, "support": 2, "predicted": 1}
    )
    # The absent class: null scores, not 0, and left out of the macro averages.
    assert pc["IT"] == {"precision": None, "recall": None, "f1": None, "iou": None, "dice": None,
                        "support": 0, "predicted": 0}
    assert r["macro_skipped"] == ["IT"]
    assert r["macro_f1"] == pytest.approx((0.5 + 4 / 7 + 2 / 3) / 3)
    assert r["miou"] == pytest.approx((1 / 3 + 2 / 5 + 1 / 2) / 3)
    assert r["macro_f1_no_bg"] == pytest.approx((4 / 7 + 2 / 3) / 2)
    assert r["miou_no_bg"] == pytest.approx((2 / 5 + 1 / 2) / 2)
    assert r["confusion_normalized"][1] == pytest.approx([1 / 3, 2 / 3, 0, 0])
    assert r["confusion_normalized"][3] is None


def test_probability_table_matches_hand_computation():
    prob = _result()["probability"]
    assert prob["BG"] == pytest.approx({"mean": 0.52, "max": 0.62, "frac_above_0.3": 1.0, "frac_above_0.5": 0.5, "count": 2})
    assert prob["CT"] == pytest.approx(
        {"mean": 1.78 / 3, "max": 0.85, "frac_above_0.3": 2 / 3, "frac_above_0.5": 2 / 3, "count": 3}
    )
    assert prob["LE"] == pytest.approx({"mean": 0.47, "max": 0.72, "frac_above_0.3": 0.5, "frac_above_0.5": 0.5, "count": 2})
    assert prob["IT"] == {"mean": None, "max": None, "frac_above_0.3": None, "frac_above_0.5": None, "count": 0}
    assert prob["all"] == pytest.approx(
        {"mean": 3.76 / 7, "max": 0.85, "frac_above_0.3": 5 / 7, "frac_above_0.5": 4 / 7, "count": 7}
    )


def test_histograms_and_ece_match_hand_computation():
    r = _result(bins=10)
    assert r["histograms"]["BG"] == [0, 0, 0, 0, 1, 0, 1, 0, 0, 0]
    assert r["histograms"]["LE"] == [0, 0, 1, 0, 0, 0, 0, 1, 0, 0]
    assert sum(r["histograms"]["all"]) == 7
    assert r["histograms"]["bin_edges"] == pytest.approx(np.linspace(0, 1, 11))
    # Confidence bins: 4: {.48 wrong}, 5: {.55, .58 wrong}, 6: {.62, .68 right}, 7: {.72 right}, 8: {.85 right}.
    assert r["ece"] == pytest.approx((0.48 + 2 * 0.565 + 2 * 0.35 + 0.28 + 0.15) / 7, abs=1e-6)
    assert r["calibration"]["count"] == [0, 0, 0, 0, 1, 2, 2, 1, 1, 0]
    assert r["calibration"]["accuracy"][5] == 0.0 and r["calibration"]["accuracy"][6] == 1.0
    assert r["calibration"]["confidence"][0] is None


def test_updates_accumulate_over_images_not_batches():
    one = ConfusionAccumulator(num_classes=4, bins=10)
    one.update(y_true=Y[:3], probs=P[:3])
    one.update(y_true=Y[3:].reshape(2, 2), probs=P[3:].reshape(2, 2, 4))
    assert one.result(class_names=NAMES) == _result()
    merged = ConfusionAccumulator(num_classes=4, bins=10)
    other = ConfusionAccumulator(num_classes=4, bins=10)
    merged.update(y_true=Y[:4], probs=P[:4])
    other.update(y_true=Y[4:], probs=P[4:])
    assert merged.merge(other).result(class_names=NAMES) == _result()


def test_ignore_index_and_false_positives_of_an_absent_class():
    acc = ConfusionAccumulator(num_classes=3)
    y = np.array([0, 0, 1, 255])
    p = np.eye(3, dtype=np.float32)[[0, 2, 1, 2]]
    acc.update(y_true=y, probs=p, ignore_index=255)
    r = acc.result(class_names=["BG", "CT", "LE"])
    assert r["pixels"] == 3
    # LE is absent but predicted once: null scores, the false positive still counted.
    assert r["per_class"]["LE"]["f1"] is None and r["per_class"]["LE"]["predicted"] == 1
    assert r["per_class"]["BG"]["recall"] == 0.5
    # A present class that is never predicted: precision 0/0 is null, recall and F1 are 0.
    acc2 = ConfusionAccumulator(num_classes=2)
    acc2.update(y_true=np.array([0, 1]), probs=np.array([[0.9, 0.1], [0.8, 0.2]]))
    le = acc2.result(class_names=["CT", "LE"])["per_class"]["LE"]
    assert le["precision"] is None and le["recall"] == 0.0 and le["f1"] == 0.0


def test_result_is_json_serialisable_with_the_documented_types():
    r = _result()
    back = json.loads(json.dumps(r))
    assert back == r
    for key in ("accuracy", "macro_f1", "miou", "macro_f1_no_bg", "miou_no_bg", "ece"):
        assert isinstance(r[key], float)
    assert r["classes"] == NAMES


def test_bad_inputs_are_rejected_with_clear_errors():
    acc = ConfusionAccumulator(num_classes=4)
    with pytest.raises(ValueError, match="probs must have shape"):
        acc.update(y_true=Y, probs=P[:, :3])
    with pytest.raises(ValueError, match="only 4 classes"):
        acc.update(y_true=np.array([5]), probs=np.ones((1, 4)) / 4)
    with pytest.raises(ValueError, match="class names"):
        acc.result(class_names=["BG"])


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=60),
)
def test_confusion_agrees_with_a_direct_count(pairs):
    y = np.array([a for a, _ in pairs])
    pred = np.array([b for _, b in pairs])
    conf = confusion_from_predictions(y_true=y, y_pred=pred, num_classes=4)
    for i in range(4):
        for j in range(4):
            assert conf[i, j] == int(np.sum((y == i) & (pred == j)))
    scores = scores_from_confusion(conf, class_names=NAMES)
    assert scores["accuracy"] == pytest.approx(np.mean(y == pred))
    for c, name in enumerate(NAMES):
        recall = scores["per_class"][name]["recall"]
        assert recall is None if not (y == c).any() else recall == pytest.approx(np.mean(pred[y == c] == c))

