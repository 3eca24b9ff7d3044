"""Flat metric names over metrics.json: the history.csv / results.csv columns and the by-name lookup."""

import numpy as np
import pytest

from lggseg.evaluation.metric_names import GLOBAL_SCORES, check_metric_name, flat_metrics, metric_by_name, metric_names
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
    row = flat_metrics(r, prefix="val_", per_class=("recall", "f1"))
    assert list(row) == ["val_accuracy", "val_macro_f1"] + [
        f"val_{code}_{score}" for code in NAMES for score in ("recall", "f1")
    ]
    assert row["val_accuracy"] == pytest.approx(4 / 7)
    assert row["val_CT_recall"] == pytest.approx(2 / 3)
    assert row["val_LE_f1"] == pytest.approx(2 / 3)
    assert row["val_IT_recall"] is None  # absent class: null, not 0


def test_flat_metrics_gives_the_results_csv_columns():
    r = _result()
    row = flat_metrics(r, global_scores=GLOBAL_SCORES)
    assert list(row) == metric_names(NAMES)
    assert list(row)[:3] == ["accuracy", "macro_f1", "miou"]
    assert row["BG_iou"] == pytest.approx(1 / 3) and row["IT_precision"] is None
    # Without "classes" (scores_from_confusion alone) the class order is per_class's.
    bare = scores_from_confusion(np.asarray(CONFUSION), class_names=NAMES)
    assert flat_metrics(bare, global_scores=GLOBAL_SCORES) == row


def test_metric_by_name_and_unknown_names_list_the_valid_ones():
    r = _result()
    assert metric_by_name(r, "macro_f1") == pytest.approx((0.5 + 4 / 7 + 2 / 3) / 3)
    assert metric_by_name(r, "LE_recall") == pytest.approx(0.5)
    assert metric_by_name(r, "miou_no_bg") == pytest.approx((2 / 5 + 1 / 2) / 2)
    assert metric_by_name(r, "IT_f1") is None
    assert metric_by_name(None, "LE_recall") is None and metric_by_name(r, None) is None
    with pytest.raises(ValueError, match=r"Unknown validation metric 'NE_recall'; valid: accuracy, .*LE_recall"):
        metric_by_name(r, "NE_recall")
    with pytest.raises(ValueError, match="Unknown validation metric 'pixels'"):
        metric_by_name(r, "pixels")  # a count, not a score


def test_check_metric_name_checks_the_form_only():
    assert check_metric_name("LE_recall") == "LE_recall"
    assert check_metric_name("miou_no_bg") == "miou_no_bg"
    for bad in ("LE_recal", "recall", "ece", "_f1"):
        with pytest.raises(ValueError, match=f"Unknown metric name '{bad}'; valid: accuracy"):
            check_metric_name(bad)
