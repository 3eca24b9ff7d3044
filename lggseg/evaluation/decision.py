"""Rare-class decision rules: reweight the softmax before the argmax.

A model trained on pixels where CT dominates gives LE and IT low probabilities even where
they are the truth, so the plain argmax almost never predicts them. Multiplying each
class's probability by a weight and renormalising moves the decision boundary without
retraining, trading CT precision for LE/IT recall. Two ways to choose the weights:

* :func:`prior_correction`: divide by the training priors (optionally multiply by new
  priors), the Bayes-optimal adjustment when only the class priors change (Saerens,
  Latinne and Decaestecker, "Adjusting the outputs of a classifier to new a priori
  probabilities: a simple procedure", Neural Computation 14(1), 2002);
  :func:`estimate_priors_em` estimates the new priors from unlabelled pixels with the
  EM procedure of the same paper.
* :func:`fit_class_weights`: per-class weights found by coordinate search maximising
  macro F1 on validation pixels.

Rules are fitted on validation data and reported *beside* the plain argmax results,
never instead of them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lggseg.atomic_write import atomic_write
from lggseg.classes import IGNORE_INDEX
from lggseg.evaluation.metrics import is_background

__all__ = [
    "DecisionRule",
    "DecisionResult",
    "PixelSample",
    "sample_pixels",
    "prior_correction",
    "estimate_priors_em",
    "fit_class_weights",
    "OBJECTIVES",
]

OBJECTIVES = ("macro_f1", "macro_f1_no_bg")


@dataclasses.dataclass(frozen=True)
class DecisionRule:
    """Per-class multiplicative weights applied to probabilities before the argmax.

    Attributes:
      kind: how the weights were chosen (``'prior_correction'``, ``'class_weights'``).
      class_names: class names in index order.
      weights: one positive weight per class.
      description: one line for reports (what was fitted on what).
    """

    kind: str
    class_names: tuple[str, ...]
    weights: tuple[float, ...]
    description: str = ""

    def __post_init__(self):
        if len(self.weights) != len(self.class_names):
            raise ValueError(
                f"{self.kind}: {len(self.weights)} weights for {len(self.class_names)} classes "
                f"({', '.join(self.class_names)})."
            )
        if not all(np.isfinite(w) and w > 0 for w in self.weights):
            raise ValueError(f"{self.kind}: weights must be finite and positive, got {self.weights}.")

    def apply(self, probs: np.ndarray) -> np.ndarray:
        """``(..., C)`` probabilities -> reweighted, renormalised probabilities (float32)."""
        probs = np.asarray(probs, dtype=np.float32)
        if probs.shape[-1] != len(self.weights):
            raise ValueError(
                f"{self.kind}: probabilities have {probs.shape[-1]} classes, the rule {len(self.weights)}."
            )
        adjusted = probs * np.asarray(self.weights, dtype=np.float32)
        return adjusted / np.maximum(adjusted.sum(axis=-1, keepdims=True), 1e-12)

    def predict(self, probs: np.ndarray) -> np.ndarray:
        """``(..., C)`` probabilities -> class indices of the reweighted argmax."""
        return np.argmax(np.asarray(probs) * np.asarray(self.weights, dtype=np.float32), axis=-1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "weights": dict(zip(self.class_names, (float(w) for w in self.weights))),
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DecisionRule":
        try:
            weights = data["weights"]
            return cls(
                kind=str(data["kind"]),
                class_names=tuple(weights),
                weights=tuple(float(v) for v in weights.values()),
                description=str(data.get("description", "")),
            )
        except (KeyError, AttributeError, TypeError) as err:
            raise ValueError(f"Not a decision rule (needs 'kind' and 'weights'): {data!r}") from err

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "DecisionRule":
        path = Path(path)
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except OSError as err:
            raise FileNotFoundError(f"Cannot read decision rule {path}: {err}") from err
        except (json.JSONDecodeError, ValueError) as err:
            raise ValueError(f"{path}: {err}") from err


@dataclasses.dataclass(frozen=True)
class DecisionResult:
    """A rule and the metrics of its predictions (the ``metrics.json`` schema).

    Attributes:
      rule: the decision rule.
      metrics: metrics of the rule's predictions on the evaluated data.
      fitted_on: where the rule was fitted, e.g. ``'validation'``; when that is the
        evaluated data itself, its gains are optimistic.
    """

    rule: DecisionRule
    metrics: dict[str, Any]
    fitted_on: str = "validation"

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule.to_dict(), "fitted_on": self.fitted_on, "metrics": self.metrics}


@dataclasses.dataclass(frozen=True)
class PixelSample:
    """A class-stratified sample of pixels for fitting decision rules.

    Attributes:
      probs: ``(N, C)`` float32 probabilities.
      y_true: ``(N,)`` true class indices.
      weight: ``(N,)`` how many pixels each sampled pixel stands for, so that weighted
        counts estimate the full data set's confusion matrix despite the stratification.
    """

    probs: np.ndarray
    y_true: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return int(self.y_true.shape[0])

    @staticmethod
    def concatenate(samples: Sequence["PixelSample"]) -> "PixelSample":
        if not samples:
            raise ValueError("No pixel samples to concatenate.")
        return PixelSample(
            probs=np.concatenate([s.probs for s in samples]),
            y_true=np.concatenate([s.y_true for s in samples]),
            weight=np.concatenate([s.weight for s in samples]),
        )


def sample_pixels(
    *,
    y_true: np.ndarray,
    probs: np.ndarray,
    per_class: int,
    rng: np.random.Generator,
    ignore_index: int | None = IGNORE_INDEX,
) -> PixelSample:
    """Up to ``per_class`` random pixels of each true class of one image, with weights.

    Stratifying keeps rare classes in the sample (a uniform sample of 1 % of the pixels
    would hold few IT pixels); the weights undo it when counting. Pixels of true class
    ``ignore_index`` (by default the "unlabelled" :data:`~lggseg.classes.IGNORE_INDEX`)
    are never sampled: a rule fitted on them would learn from no label.
    """
    y = np.asarray(y_true).reshape(-1)
    p = np.asarray(probs).reshape(y.size, -1)
    picks, weights = [], []
    for c in np.unique(y):
        if ignore_index is not None and c == ignore_index:
            continue
        where = np.flatnonzero(y == c)
        chosen = where if where.size <= per_class else rng.choice(where, per_class, replace=False)
        picks.append(chosen)
        weights.append(np.full(chosen.size, where.size / chosen.size, dtype=np.float64))
    idx = np.concatenate(picks) if picks else np.zeros(0, dtype=np.intp)
    return PixelSample(
        probs=p[idx].astype(np.float32),
        y_true=y[idx].astype(np.int64),
        weight=np.concatenate(weights) if weights else np.zeros(0),
    )


def prior_correction(
    *,
    train_priors: Sequence[float],
    class_names: Sequence[str],
    target_priors: Sequence[float] | None = None,
) -> DecisionRule:
    """Saerens et al. (2002) prior correction: weights = target priors / training priors.

    Args:
      train_priors: class shares of the training pixels (what the softmax learned).
      class_names: names in index order.
      target_priors: class shares expected at test time; ``None`` = uniform, which turns
        the posterior into a (scaled) likelihood and favours rare classes.
    """
    train = np.asarray(train_priors, dtype=np.float64)
    target = (
        np.full(train.shape, 1.0 / train.size)
        if target_priors is None
        else np.asarray(target_priors, dtype=np.float64)
    )
    if train.shape != (len(class_names),) or target.shape != train.shape:
        raise ValueError(
            f"Need one prior per class ({', '.join(class_names)}); got {train.size} training and "
            f"{target.size} target priors."
        )
    if np.any(train <= 0) or np.any(target <= 0):
        raise ValueError(
            f"Priors must be positive (a class never seen in training cannot be corrected): "
            f"training {train.tolist()}, target {target.tolist()}."
        )
    weights = (target / target.sum()) / (train / train.sum())
    # Scale so the largest class keeps weight 1, which makes weights easy to read.
    weights = weights / weights[np.argmax(train)]
    what = "uniform" if target_priors is None else "given"
    return DecisionRule(
        kind="prior_correction",
        class_names=tuple(class_names),
        weights=tuple(float(w) for w in weights),
        description=f"divide by the training priors, multiply by {what} priors (Saerens et al. 2002)",
    )


def estimate_priors_em(
    *,
    probs: np.ndarray,
    train_priors: Sequence[float],
    max_iter: int = 100,
    tol: float = 1e-6,
) -> np.ndarray:
    """Class priors of unlabelled pixels by EM (Saerens et al. 2002, section 2.2).

    Args:
      probs: ``(..., C)`` posteriors of the model on the new data.
      train_priors: the training priors the posteriors were learned under.
      max_iter: EM iterations at most.
      tol: stop when no prior moves more than this.

    Returns:
      ``(C,)`` estimated priors, summing to 1.
    """
    p = np.asarray(probs, dtype=np.float64).reshape(-1, np.shape(probs)[-1])
    train = np.asarray(train_priors, dtype=np.float64)
    train = train / train.sum()
    new = train.copy()
    for _ in range(max_iter):
        adjusted = p * (new / train)
        adjusted /= np.maximum(adjusted.sum(axis=1, keepdims=True), 1e-12)
        updated = adjusted.mean(axis=0)
        done = np.max(np.abs(updated - new)) < tol
        new = updated
        if done:
            break
    return new


def fit_class_weights(
    *,
    probs: np.ndarray,
    y_true: np.ndarray,
    class_names: Sequence[str],
    sample_weight: np.ndarray | None = None,
    objective: str = "macro_f1",
    grid: Sequence[float] | None = None,
    rounds: int = 4,
) -> DecisionRule:
    """Per-class weights maximising macro F1 on validation pixels, by coordinate search.

    The class with the most pixels keeps weight 1 (weights only matter relative to each
    other); every other class in turn takes the grid value that maximises the objective
    given the others, for ``rounds`` sweeps or until nothing changes. Starting from all
    ones, a weight only moves for a strict improvement, so a rule fitted on data where
    the argmax is already best stays the argmax.

    Args:
      probs: ``(N, C)`` (or ``(..., C)``) validation probabilities.
      y_true: true class indices, ``probs.shape[:-1]``.
      class_names: names in index order (Background = ``BG``/``Background`` for
        ``objective='macro_f1_no_bg'``).
      sample_weight: per-pixel weights (e.g. :class:`PixelSample` weights).
        Pixels whose true class is not a class index (the unlabelled
        :data:`~lggseg.classes.IGNORE_INDEX`) are left out.
      objective: ``'macro_f1'`` or ``'macro_f1_no_bg'``.
      grid: candidate weights; default 33 log-spaced values from 1/16 to 16.
      rounds: coordinate-search sweeps at most.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"Unknown objective {objective!r}; valid: {', '.join(OBJECTIVES)}.")
    k = len(class_names)
    p = np.asarray(probs, dtype=np.float32).reshape(-1, k) if np.shape(probs)[-1] == k else None
    if p is None:
        raise ValueError(f"probs have {np.shape(probs)[-1]} classes, class_names {k} ({', '.join(class_names)}).")
    y = np.asarray(y_true).reshape(-1).astype(np.int64)
    if y.size != p.shape[0]:
        raise ValueError(f"y_true has {y.size} pixels but probs {p.shape[0]}.")
    w_pix = np.ones(y.size) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    labelled = (y >= 0) & (y < k)
    if not labelled.all():
        p, y, w_pix = p[labelled], y[labelled], w_pix[labelled]
    candidates = np.asarray(grid if grid is not None else 2.0 ** np.linspace(-4, 4, 33), dtype=np.float64)
    if candidates.size == 0 or np.any(candidates <= 0):
        raise ValueError(f"grid must hold positive weights, got {list(candidates)}.")
    scored = np.array([not (objective == "macro_f1_no_bg" and is_background(n)) for n in class_names])
    support = np.bincount(y, weights=w_pix, minlength=k)
    reference = int(np.argmax(support))

    def score(weights: np.ndarray) -> float:
        pred = np.argmax(p * weights.astype(np.float32), axis=1)
        conf = np.bincount(y * k + pred, weights=w_pix, minlength=k * k).reshape(k, k)
        tp = np.diag(conf)
        den = conf.sum(axis=0) + conf.sum(axis=1)
        # Classes absent from the data are skipped, as in the reported macro F1.
        keep = scored & (support > 0)
        return float(np.mean(2 * tp[keep] / den[keep])) if keep.any() else 0.0

    weights = np.ones(k)
    best = score(weights)
    start = best
    for _ in range(rounds):
        changed = False
        for c in range(k):
            if c == reference:
                continue
            for value in candidates:
                trial = weights.copy()
                trial[c] = value
                s = score(trial)
                if s > best + 1e-12:
                    best, weights, changed = s, trial, True
        if not changed:
            break
    return DecisionRule(
        kind="class_weights",
        class_names=tuple(class_names),
        weights=tuple(float(w) for w in weights),
        description=(
            f"per-class weights by coordinate search maximising {objective} on {int(round(support.sum()))} "
            f"pixels ({start:.3f} -> {best:.3f} there)"
        ),
    )
