"""Per-class segmentation metrics and the probability analysis, accumulated over all pixels.

Scores are computed from counts summed over every pixel of a data set (never averaged
per batch or per image), so a rare class weighs by its pixels, not by how many batches
it happened to fall into. Accumulation is pure numpy (``np.bincount``) and backend-free.

``ConfusionAccumulator.result`` returns the dictionary written to ``metrics.json``.
Its schema (null = JSON ``null`` = Python ``None``):

``classes``
  class names in index order (usually the scheme's codes, e.g. ``["BG", "CT", "LE", "IT"]``).
``pixels``
  number of pixels counted (pixels equal to ``ignore_index`` are left out).
``ignored_pixels``
  number of pixels left out as unlabelled (true class ``ignore_index``, by default
  :data:`~lggseg.classes.IGNORE_INDEX`): they are in no count, score or statistic below.
``accuracy``
  pixel accuracy of the argmax, trace / total.
``macro_f1``, ``miou``
  mean F1 and mean IoU over the classes whose score is not null.
``macro_f1_no_bg``, ``miou_no_bg``
  the same without Background: the class named ``BG`` or ``Background``
  (case-insensitive); equal to the plain averages when there is no such class.
``macro_skipped``
  the classes left out of the macro averages because their scores are null.
``per_class``
  name -> ``precision``, ``recall``, ``f1``, ``iou``, ``dice``, ``support`` (true pixels),
  ``predicted`` (pixels predicted as the class). A class absent from the data
  (support 0) has null scores: its recall is undefined and a score of 0 earned from
  false positives alone would drag the macro averages for a class the data cannot
  measure (its false positives still show in ``predicted`` and in the confusion
  matrix). Otherwise a ratio with a zero denominator is null, e.g. the precision of a
  class that is never predicted (its recall and F1 are then 0). F1 and Dice are both
  ``2TP / (2TP + FP + FN)`` over pixels; both are kept because both names are in use.
``confusion``
  counts, ``confusion[i][j]`` = pixels of true class ``i`` predicted as ``j``.
``confusion_normalized``
  ``confusion`` divided by its row sums (the share of each true class predicted as
  each class); a row is null for a class absent from the data.
``probability``
  name -> ``mean``, ``max``, ``frac_above_0.3``, ``frac_above_0.5``, ``count``: statistics
  of the probability the model gives to the *true* class, over the pixels of that true
  class (e.g. LE: mean 0.17, max 0.26, no pixel above 0.5 means the model never
  believes in LE even where LE is). Null values for an absent class. The extra entry
  ``all`` is the same statistic over all pixels: the probability of the true class,
  whatever that class is (the support-weighted combination of the class rows). The
  probability of the *predicted* class (the confidence) is summarised in
  ``calibration``.
``histograms``
  ``bin_edges`` (``bins + 1`` edges on [0, 1]) and name -> counts of the true-class
  probability per bin, for every class and for ``all``.
``calibration``
  reliability diagram of the argmax: per confidence bin (same edges), ``count``,
  ``confidence`` (mean max-probability) and ``accuracy`` (share of correct argmax);
  null for empty bins. ``mean_confidence`` over all pixels.
``ece``
  expected calibration error, ``sum_b n_b / N * |accuracy_b - confidence_b|`` over the
  confidence bins (Naeini et al., AAAI 2015; Guo et al., "On Calibration of Modern
  Neural Networks", ICML 2017); null when no pixel was counted.

Callers add ``notes`` (e.g. that the IvyGAP 8 -> LGG 4 mapping was applied) and
``decision_rules`` (results of rare-class decision rules, beside the argmax).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lggseg.classes import IGNORE_INDEX

# The flat names of these metrics (``LE_recall``) live beside them, in metric_names.py.
from lggseg.evaluation.metric_names import (
    GLOBAL_SCORES,
    PER_CLASS_SCORES,
    check_metric_name,
    flat_metrics,
    metric_by_name,
    metric_names,
)

__all__ = [
    "PER_CLASS_SCORES",
    "ConfusionAccumulator",
    "GLOBAL_SCORES",
    "PROBABILITY_THRESHOLDS",
    "confusion_from_predictions",
    "check_metric_name",
    "flat_metrics",
    "is_background",
    "metric_names",
    "metric_by_name",
    "scores_from_confusion",
]

# The thresholds of the probability table: 0.5 is the argmax-winning level for two
# competing classes, 0.3 shows a class that is "in the running" but rarely wins.
PROBABILITY_THRESHOLDS = (0.3, 0.5)

_BACKGROUND_NAMES = ("bg", "background")


def is_background(name: str) -> bool:
    """Whether a class name denotes Background (``BG`` or ``Background``, any case)."""
    return name.strip().lower() in _BACKGROUND_NAMES


def confusion_from_predictions(
    *,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    num_classes: int,
    ignore_index: int | None = IGNORE_INDEX,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """Confusion matrix (rows = true class) of index arrays of any matching shape.

    Args:
      y_true: true class indices.
      y_pred: predicted class indices, same shape.
      num_classes: size of the matrix.
      ignore_index: true-class value to leave out, by default the "unlabelled"
        :data:`~lggseg.classes.IGNORE_INDEX`; None counts every pixel.
      sample_weight: optional per-pixel weights (same shape); the matrix is then float64.

    Returns:
      ``(num_classes, num_classes)`` int64 counts (float64 sums when weighted).
    """
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values but y_pred has {y_pred.size}.")
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).ravel()
    if ignore_index is not None:
        keep = y_true != ignore_index
        y_true, y_pred = y_true[keep], y_pred[keep]
        weights = None if weights is None else weights[keep]
    _check_indices(y_true, num_classes, "y_true")
    _check_indices(y_pred, num_classes, "y_pred")
    flat = y_true.astype(np.int64) * num_classes + y_pred.astype(np.int64)
    counts = np.bincount(flat, weights=weights, minlength=num_classes * num_classes)
    out = counts.reshape(num_classes, num_classes)
    return out if weights is not None else out.astype(np.int64)


def _check_indices(values: np.ndarray, num_classes: int, what: str) -> None:
    if values.size and (int(values.min()) < 0 or int(values.max()) >= num_classes):
        raise ValueError(
            f"{what} holds class indices {int(values.min())}..{int(values.max())}, but there are "
            f"only {num_classes} classes (0..{num_classes - 1})."
        )


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den > 0 else None


def _mean_or_none(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def scores_from_confusion(
    confusion: np.ndarray,
    *,
    class_names: Sequence[str],
) -> dict[str, Any]:
    """Accuracy, per-class and macro scores from a confusion matrix (rows = true).

    Returns the ``accuracy``, ``macro_f1``, ``miou``, ``macro_f1_no_bg``, ``miou_no_bg``,
    ``macro_skipped``, ``per_class``, ``confusion`` and ``confusion_normalized`` entries
    of the ``metrics.json`` schema (see the module docstring).
    """
    confusion = np.asarray(confusion)
    k = confusion.shape[0]
    if confusion.shape != (k, k) or len(class_names) != k:
        raise ValueError(
            f"Expected a square confusion matrix with one class name per row; got shape "
            f"{confusion.shape} and {len(class_names)} names ({', '.join(class_names)})."
        )
    tp = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1).astype(np.float64)
    predicted = confusion.sum(axis=0).astype(np.float64)
    fp = predicted - tp
    fn = support - tp
    total = float(confusion.sum())
    per_class: dict[str, dict[str, float | None]] = {}
    for i, name in enumerate(class_names):
        if support[i] == 0:
            scores = dict.fromkeys(("precision", "recall", "f1", "iou", "dice"))
        else:
            f1 = _ratio(2 * tp[i], 2 * tp[i] + fp[i] + fn[i])
            scores = {
                "precision": _ratio(tp[i], predicted[i]),
                "recall": _ratio(tp[i], support[i]),
                "f1": f1,
                "iou": _ratio(tp[i], tp[i] + fp[i] + fn[i]),
                "dice": f1,
            }
        scores["support"] = _count(support[i])
        scores["predicted"] = _count(predicted[i])
        per_class[name] = scores
    f1s = [per_class[n]["f1"] for n in class_names]
    ious = [per_class[n]["iou"] for n in class_names]
    fg = [i for i, n in enumerate(class_names) if not is_background(n)]
    normalized = [
        (confusion[i] / support[i]).tolist() if support[i] > 0 else None for i in range(k)
    ]
    return {
        "accuracy": _ratio(tp.sum(), total),
        "macro_f1": _mean_or_none(f1s),
        "miou": _mean_or_none(ious),
        "macro_f1_no_bg": _mean_or_none([f1s[i] for i in fg]),
        "miou_no_bg": _mean_or_none([ious[i] for i in fg]),
        "macro_skipped": [n for n in class_names if per_class[n]["f1"] is None],
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "confusion_normalized": normalized,
    }


def _count(value: float) -> int | float:
    # Weighted confusion matrices (decision-rule fitting) hold float sums.
    return int(value) if float(value).is_integer() else float(value)


class ConfusionAccumulator:
    """Accumulates the confusion matrix and probability statistics over a data set.

    Call :meth:`update` once per image (or batch) with the true index mask and the
    softmax probabilities, then :meth:`result` for the ``metrics.json`` dictionary.

    Args:
      num_classes: number of classes C of the probabilities.
      bins: number of equal-width bins on [0, 1] for the probability histograms and the
        calibration (ECE) bins.
    """

    def __init__(self, *, num_classes: int, bins: int = 20):
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}.")
        if bins < 1:
            raise ValueError(f"bins must be >= 1, got {bins}.")
        self.num_classes = num_classes
        self.bins = bins
        k = num_classes
        self.confusion = np.zeros((k, k), dtype=np.int64)
        # Statistics of p(true class), per true class.
        self.true_prob_sum = np.zeros(k, dtype=np.float64)
        self.true_prob_max = np.full(k, -np.inf, dtype=np.float64)
        self.true_prob_above = np.zeros((len(PROBABILITY_THRESHOLDS), k), dtype=np.int64)
        self.true_prob_hist = np.zeros((k, bins), dtype=np.int64)
        # Calibration of the argmax: per confidence bin, count, sum of confidence, hits.
        self.calib_count = np.zeros(bins, dtype=np.int64)
        self.calib_conf_sum = np.zeros(bins, dtype=np.float64)
        self.calib_correct = np.zeros(bins, dtype=np.int64)
        self.ignored = 0

    def update(
        self,
        *,
        y_true: np.ndarray,
        probs: np.ndarray,
        ignore_index: int | None = IGNORE_INDEX,
    ) -> None:
        """Add pixels: ``y_true`` of shape ``(...)``, ``probs`` of shape ``(..., C)``.

        Pixels whose true class is ``ignore_index`` (by default the "unlabelled"
        :data:`~lggseg.classes.IGNORE_INDEX`) are only counted, as ``ignored_pixels``.
        """
        y_true = np.asarray(y_true)
        probs = np.asarray(probs)
        if probs.shape[:-1] != y_true.shape or probs.shape[-1] != self.num_classes:
            raise ValueError(
                f"probs must have shape y_true.shape + (C,) = {y_true.shape + (self.num_classes,)}, "
                f"got {probs.shape}."
            )
        y = y_true.reshape(-1)
        p = probs.reshape(-1, self.num_classes)
        if ignore_index is not None:
            keep = y != ignore_index
            self.ignored += int(keep.size - np.count_nonzero(keep))
            y, p = y[keep], p[keep]
        if y.size == 0:
            return
        k = self.num_classes
        _check_indices(y, k, "y_true")
        y = y.astype(np.intp)
        pred = np.argmax(p, axis=-1)
        self.confusion += np.bincount(y * k + pred, minlength=k * k).reshape(k, k)

        p_true = np.take_along_axis(p, y[:, None], axis=-1)[:, 0].astype(np.float64)
        self.true_prob_sum += np.bincount(y, weights=p_true, minlength=k)
        for t, threshold in enumerate(PROBABILITY_THRESHOLDS):
            self.true_prob_above[t] += np.bincount(y[p_true > threshold], minlength=k)
        self.true_prob_hist += np.bincount(
            y * self.bins + self._bin(p_true), minlength=k * self.bins
        ).reshape(k, self.bins)
        # A per-class max needs a pass per class present; C is small (4 or 8).
        for c in np.flatnonzero(np.bincount(y, minlength=k)):
            self.true_prob_max[c] = max(self.true_prob_max[c], float(p_true[y == c].max()))

        confidence = np.take_along_axis(p, pred[:, None], axis=-1)[:, 0].astype(np.float64)
        conf_bin = self._bin(confidence)
        self.calib_count += np.bincount(conf_bin, minlength=self.bins)
        self.calib_conf_sum += np.bincount(conf_bin, weights=confidence, minlength=self.bins)
        self.calib_correct += np.bincount(conf_bin[pred == y], minlength=self.bins)

    def _bin(self, values: np.ndarray) -> np.ndarray:
        # Probability 1.0 belongs to the last bin, not to a bin of its own.
        return np.clip((values * self.bins).astype(np.intp), 0, self.bins - 1)

    def merge(self, other: "ConfusionAccumulator") -> "ConfusionAccumulator":
        """Add another accumulator's counts (same classes and bins) into this one; returns self."""
        if (other.num_classes, other.bins) != (self.num_classes, self.bins):
            raise ValueError(
                f"Cannot merge an accumulator of {other.num_classes} classes / {other.bins} bins "
                f"into one of {self.num_classes} classes / {self.bins} bins."
            )
        for name in ("confusion", "true_prob_sum", "true_prob_above", "true_prob_hist",
                     "calib_count", "calib_conf_sum", "calib_correct"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.true_prob_max = np.maximum(self.true_prob_max, other.true_prob_max)
        self.ignored += other.ignored
        return self

    def result(self, *, class_names: Sequence[str]) -> dict[str, Any]:
        """The ``metrics.json`` dictionary (schema in the module docstring)."""
        names = list(class_names)
        if len(names) != self.num_classes:
            raise ValueError(
                f"Got {len(names)} class names ({', '.join(names)}) for {self.num_classes} classes."
            )
        if "all" in names or len(set(names)) != len(names):
            raise ValueError(f"Class names must be unique and not 'all' (a reserved entry); got {names}.")
        support = self.confusion.sum(axis=1)
        total = int(support.sum())
        out: dict[str, Any] = {"classes": names, "pixels": total, "ignored_pixels": int(self.ignored)}
        out.update(scores_from_confusion(self.confusion, class_names=names))

        probability: dict[str, dict[str, float | int | None]] = {}
        for i, name in enumerate(names):
            probability[name] = self._probability_row(
                count=int(support[i]),
                total=self.true_prob_sum[i],
                maximum=self.true_prob_max[i],
                above=self.true_prob_above[:, i],
            )
        probability["all"] = self._probability_row(
            count=total,
            total=self.true_prob_sum.sum(),
            maximum=self.true_prob_max.max(),
            above=self.true_prob_above.sum(axis=1),
        )
        out["probability"] = probability

        edges = np.linspace(0.0, 1.0, self.bins + 1)
        histograms: dict[str, Any] = {"bin_edges": [round(float(e), 10) for e in edges]}
        for i, name in enumerate(names):
            histograms[name] = self.true_prob_hist[i].tolist()
        histograms["all"] = self.true_prob_hist.sum(axis=0).tolist()
        out["histograms"] = histograms

        nonempty = self.calib_count > 0
        conf = np.where(nonempty, self.calib_conf_sum / np.maximum(self.calib_count, 1), np.nan)
        acc = np.where(nonempty, self.calib_correct / np.maximum(self.calib_count, 1), np.nan)
        out["calibration"] = {
            "bin_edges": histograms["bin_edges"],
            "count": self.calib_count.tolist(),
            "confidence": [float(v) if ok else None for v, ok in zip(conf, nonempty)],
            "accuracy": [float(v) if ok else None for v, ok in zip(acc, nonempty)],
            "mean_confidence": _ratio(self.calib_conf_sum.sum(), total),
        }
        if total > 0:
            gaps = np.abs(acc[nonempty] - conf[nonempty])
            out["ece"] = float(np.sum(self.calib_count[nonempty] / total * gaps))
        else:
            out["ece"] = None
        return out

    @staticmethod
    def _probability_row(
        *, count: int, total: float, maximum: float, above: np.ndarray
    ) -> dict[str, float | int | None]:
        if count == 0:
            row: dict[str, float | int | None] = {"mean": None, "max": None}
            row.update({f"frac_above_{t}": None for t in PROBABILITY_THRESHOLDS})
        else:
            row = {"mean": float(total) / count, "max": float(maximum)}
            row.update(
                {f"frac_above_{t}": float(a) / count for t, a in zip(PROBABILITY_THRESHOLDS, above)}
            )
        row["count"] = count
        return row
