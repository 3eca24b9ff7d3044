"""Flat metric names over metrics.json: the history.csv / results.csv columns and the by-name lookup."""

import numpy as np
import pytest

from lggseg.evaluation.metric_names import GLOBAL_SCORES, check_metric_name, flat_metrics, metric_names, metric_value
from lggseg.evaluation.metrics import ConfusionAccumulator, scores_from_confusion

NAMES = ["BG", "CT", "LE", "IT"]
# Seven pixels as in test_metrics.py: IT absent; BG/CT/LE recall 1/2, 2/3, 1/2.
Y = np.array([0, 0, 1, 1, 1, 2, 2])
PRED = np.array([0, 1, 1, 1, 0, 1, 2])
CONFUSION = [[1, 1, 0, 0], [1, 2, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]]


def _result():
    acc = ConfusionAccumulator(num_classes=4)
    acc.update(y_true=Y, probs=np.eye(4, dtype=np.float32)[PRED])
    return acc.result(class_names=NAMES)


def test_flat_metrics_gives_the_history_columns_of_the_trainer():
    r = _result()
    row = flat_metrics(r, prefix="val_", global_scores=("accuracy", "macro_f1"), class_scores=("recall", "f1"))
    assert list(row) == ["val_accuracy", "val_macro_f1"] + [
        f"val_{code}_{score}" for code in NAMES for score in ("recall", "f1")
    ]
    assert row["val_accuracy"] == pytest.approx(4 / 7)
    assert row["val_CT_recall"] == pytest.approx(2 / 3)
    assert row["val_LE_f1"] == pytest.approx(2 / 3)
    assert row["val_IT_recall"] is None  # absent class: null, not 0


def test_flat_metrics_defaults_cover_every_score_name():
    r = _result()
    row = flat_metrics(r)
    assert list(row) == metric_names(NAMES)
    assert list(row)[:5] == list(GLOBAL_SCORES)
    assert row["BG_iou"] == pytest.approx(1 / 3) and row["miou_no_bg"] == pytest.approx((2 / 5 + 1 / 2) / 2)
    # Without "classes" (scores_from_confusion alone) the class order is per_class's.
    bare = scores_from_confusion(np.asarray(CONFUSION), class_names=NAMES)
    assert flat_metrics(bare) == row


def test_metric_value_by_name_and_unknown_names_list_the_valid_ones():
    r = _result()
    assert metric_value(r, name="macro_f1") == pytest.approx((0.5 + 4 / 7 + 2 / 3) / 3)
    assert metric_value(r, name="LE_recall") == pytest.approx(0.5)
    assert metric_value(r, name="IT_f1") is None
    with pytest.raises(ValueError, match=r"Unknown validation metric 'NE_recall'; valid: accuracy, .*LE_recall"):
        metric_value(r, name="NE_recall")
    with pytest.raises(ValueError, match="Unknown validation metric 'pixels'"):
        metric_value(r, name="pixels")  # a count, not a score


def test_check_metric_name_checks_the_form_only():
    assert check_metric_name("LE_recall") == "LE_recall"
    assert check_metric_name("miou_no_bg") == "miou_no_bg"
    for bad in ("LE_recal", "recall", "ece", "_f1"):
        with pytest.raises(ValueError, match=f"Unknown metric name '{bad}'; valid: accuracy"):
            check_metric_name(bad)
