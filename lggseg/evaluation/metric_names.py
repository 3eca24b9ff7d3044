"""Flat metric names: one level of ``name -> score`` over the ``metrics.json`` dictionary.

A global score is named by its key (``accuracy``, ``macro_f1``, ``miou``), a per-class
score as ``<CLASS>_<score>`` (``LE_recall``, ``IT_f1``). The same names are the columns of
``history.csv`` (prefixed ``val_``) and ``results.csv``, and what a phase's
``early_stop_metric`` accepts. The ``metrics.json`` schema itself is documented in
:mod:`lggseg.evaluation.metrics` (which re-exports these names).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "GLOBAL_SCORES",
    "PER_CLASS_SCORES",
    "check_metric_name",
    "flat_metrics",
    "metric_by_name",
    "metric_names",
]

# The columns of results.csv, in order; history.csv keeps accuracy, macro_f1 and the
# per-class recall and F1.
GLOBAL_SCORES = ("accuracy", "macro_f1", "miou")
PER_CLASS_SCORES = ("precision", "recall", "f1", "iou")
# What a name can look up beyond those: every other score where higher is better, so any
# name can drive early stopping (counts, ``ece`` and the tables are not scores).
_MORE_GLOBAL = ("macro_f1_no_bg", "miou_no_bg")
_MORE_PER_CLASS = ("dice",)
# history.csv's global columns (val_accuracy, val_macro_f1), kept as they were.
_HISTORY_GLOBAL = ("accuracy", "macro_f1")


def _class_names(metrics: dict[str, Any]) -> list[str]:
    # scores_from_confusion alone has no "classes"; its per_class keeps the class order.
    return list(metrics.get("classes") or metrics.get("per_class", {}))


def metric_names(
    class_names: Sequence[str],
    *,
    global_scores: Sequence[str] = GLOBAL_SCORES,
    per_class: Sequence[str] = PER_CLASS_SCORES,
) -> list[str]:
    """The flat names for these classes: the global scores, then ``<CLASS>_<score>``.

    With the defaults, the metric columns of ``results.csv``:
    ``["accuracy", "macro_f1", "miou", "BG_precision", ..., "IT_iou"]``.
    """
    return [*global_scores, *(f"{code}_{score}" for code in class_names for score in per_class)]


def flat_metrics(
    metrics: dict[str, Any],
    *,
    prefix: str = "",
    global_scores: Sequence[str] = _HISTORY_GLOBAL,
    per_class: Sequence[str] = PER_CLASS_SCORES,
) -> dict[str, Any]:
    """A ``metrics.json`` dictionary as one flat row: name -> score (None where null or missing).

    Keys are ``prefix`` + :func:`metric_names`, in that order. The history.csv columns
    ``val_accuracy``, ``val_macro_f1``, ``val_<CLASS>_recall``, ``val_<CLASS>_f1`` are
    ``flat_metrics(metrics, prefix="val_", per_class=("recall", "f1"))``; results.csv passes
    ``global_scores=GLOBAL_SCORES``.

    Args:
      metrics: as :meth:`ConfusionAccumulator.result` or :func:`scores_from_confusion`
        return it.
      prefix: put before every key.
      global_scores: which top-level scores, in order (default ``accuracy``, ``macro_f1``).
      per_class: which per-class scores, in order, for every class.
    """
    scores_of = metrics.get("per_class", {})
    row = {f"{prefix}{name}": metrics.get(name) for name in global_scores}
    for code in _class_names(metrics):
        scores = scores_of.get(code, {})
        for score in per_class:
            row[f"{prefix}{code}_{score}"] = scores.get(score)
    return row


def metric_by_name(metrics: dict[str, Any] | None, name: str | None) -> float | None:
    """One score by its flat name (``macro_f1``, ``LE_recall``); None without metrics or name.

    Returns:
      The score; None when it is null (a class absent from the data).

    Raises:
      ValueError: for a name that is not a score of these metrics' classes; the message
        lists the valid names.
    """
    if metrics is None or name is None:
        return None
    valid = metric_names(
        _class_names(metrics),
        global_scores=(*GLOBAL_SCORES, *_MORE_GLOBAL),
        per_class=(*PER_CLASS_SCORES, *_MORE_PER_CLASS),
    )
    if name not in valid:
        raise ValueError(f"Unknown validation metric {name!r}; valid: {', '.join(valid)}.")
    code, _, score = name.rpartition("_")
    if name in metrics and not isinstance(metrics[name], dict):
        return metrics[name]
    return metrics.get("per_class", {}).get(code, {}).get(score)


def check_metric_name(name: str) -> str:
    """``name`` if it can name a score (a global one or ``<CLASS>_<score>``), else a ValueError.

    For checks made before the classes are known (a phase's ``early_stop_metric`` when the
    gin file is read); :func:`metric_by_name` checks the class as well.
    """
    code, _, score = name.rpartition("_")
    if name in (*GLOBAL_SCORES, *_MORE_GLOBAL) or (code and score in (*PER_CLASS_SCORES, *_MORE_PER_CLASS)):
        return name
    raise ValueError(
        f"Unknown metric name {name!r}; valid: {', '.join((*GLOBAL_SCORES, *_MORE_GLOBAL))} or "
        f"<CLASS>_<score> with score one of {', '.join((*PER_CLASS_SCORES, *_MORE_PER_CLASS))} (e.g. LE_recall)."
    )
