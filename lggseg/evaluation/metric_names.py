"""Flat metric names: one level of ``name -> score`` over the ``metrics.json`` dictionary.

A global score is named by its key (``accuracy``, ``macro_f1``, ``miou``), a per-class
score as ``<CLASS>_<score>`` (``LE_recall``, ``IT_f1``). The same names are the columns of
``history.csv`` (prefixed ``val_``) and ``results.csv``, and what a phase's
``early_stop_metric`` accepts. The ``metrics.json`` schema itself is documented in
:mod:`lggseg.evaluation.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["CLASS_SCORES", "GLOBAL_SCORES", "check_metric_name", "flat_metrics", "metric_names", "metric_value"]

# The scores a flat metric name can refer to: global ones by their key, per-class ones as
# ``<CLASS>_<score>`` (``LE_recall``). Only scores where higher is better, so any of them
# can drive early stopping; counts, ``ece`` and the tables are left out. Writers of
# columns (history.csv, results.csv) choose a subset, in this order.
GLOBAL_SCORES = ("accuracy", "macro_f1", "miou", "macro_f1_no_bg", "miou_no_bg")
CLASS_SCORES = ("precision", "recall", "f1", "iou", "dice")


def _class_names(metrics: dict[str, Any]) -> list[str]:
    # scores_from_confusion alone has no "classes"; its per_class keeps the class order.
    return list(metrics.get("classes") or metrics.get("per_class", {}))


def metric_names(
    class_names: Sequence[str],
    *,
    global_scores: Sequence[str] = GLOBAL_SCORES,
    class_scores: Sequence[str] = CLASS_SCORES,
) -> list[str]:
    """The flat metric names for these classes: the global scores, then ``<CLASS>_<score>``.

    With the defaults, the names :func:`metric_value` and a phase's ``early_stop_metric``
    accept; ``results.csv`` has the columns of ``global_scores=("accuracy", "macro_f1",
    "miou"), class_scores=("precision", "recall", "f1", "iou")``.
    """
    return [*global_scores, *(f"{code}_{score}" for code in class_names for score in class_scores)]


def flat_metrics(
    metrics: dict[str, Any],
    *,
    prefix: str = "",
    global_scores: Sequence[str] = GLOBAL_SCORES,
    class_scores: Sequence[str] = CLASS_SCORES,
) -> dict[str, Any]:
    """A ``metrics.json`` dictionary flattened to one level: name -> score (None if null).

    Keys are ``prefix`` + each of :func:`metric_names`, in that order; e.g. the history.csv
    columns ``val_accuracy``, ``val_macro_f1``, ``val_<CLASS>_recall``, ``val_<CLASS>_f1``
    are ``flat_metrics(metrics, prefix="val_", global_scores=("accuracy", "macro_f1"),
    class_scores=("recall", "f1"))``. A score missing from ``metrics`` is None.

    Args:
      metrics: as :meth:`ConfusionAccumulator.result` or :func:`scores_from_confusion`
        return it.
      prefix: put before every key.
      global_scores: which top-level scores, in order.
      class_scores: which per-class scores, in order, for every class.
    """
    per_class = metrics.get("per_class", {})
    row = {f"{prefix}{name}": metrics.get(name) for name in global_scores}
    for code in _class_names(metrics):
        scores = per_class.get(code, {})
        for score in class_scores:
            row[f"{prefix}{code}_{score}"] = scores.get(score)
    return row


def metric_value(metrics: dict[str, Any], *, name: str) -> float | None:
    """One score of a ``metrics.json`` dictionary by its flat name (``macro_f1``, ``LE_recall``).

    Returns:
      The score; None when it is null (a class absent from the data).

    Raises:
      ValueError: for a name that is not one of :func:`metric_names` of the metrics'
        classes; the message lists the valid names.
    """
    classes = _class_names(metrics)
    valid = metric_names(classes)
    if name not in valid:
        raise ValueError(f"Unknown validation metric {name!r}; valid: {', '.join(valid)}.")
    return flat_metrics(metrics)[name]


def check_metric_name(name: str) -> str:
    """``name`` if it can name a score (a global one or ``<CLASS>_<score>``), else a ValueError.

    For checks made before the classes are known (a phase's ``early_stop_metric`` when the
    gin file is read); :func:`metric_value` checks the class as well.
    """
    code, _, score = name.rpartition("_")
    if name in GLOBAL_SCORES or (code and score in CLASS_SCORES):
        return name
    raise ValueError(
        f"Unknown metric name {name!r}; valid: {', '.join(GLOBAL_SCORES)} or <CLASS>_<score> with "
        f"score one of {', '.join(CLASS_SCORES)} (e.g. LE_recall)."
    )
