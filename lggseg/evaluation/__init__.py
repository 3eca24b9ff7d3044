"""Evaluation: per-class metrics, the probability analysis, decision rules, reports, prediction.

* :mod:`~lggseg.evaluation.metrics`         ``ConfusionAccumulator``: the ``metrics.json`` schema
* :mod:`~lggseg.evaluation.sliding_window`  ``SlidingWindowPredictor``: whole images through tiles
* :mod:`~lggseg.evaluation.prediction_mask` ``PredictionMask``: glass and ink are Background on every prediction path
* :mod:`~lggseg.evaluation.evaluate`        ``evaluate``: a model on a data source
* :mod:`~lggseg.evaluation.decision`        rare-class decision rules beside the argmax
* :mod:`~lggseg.evaluation.trained_model`   ``load_trained_model``: a run's model, normaliser, classes
* :mod:`~lggseg.evaluation.export`          ``export_run``: SavedModel / ONNX + preprocessing.json, without lggseg
* :mod:`~lggseg.evaluation.plots`, :mod:`~lggseg.evaluation.report`  figures and ``report.md``

Importing this package imports neither keras nor matplotlib.
"""

from lggseg.evaluation.decision import (
    DecisionResult,
    DecisionRule,
    PixelSample,
    estimate_priors_em,
    fit_class_weights,
    prior_correction,
)
from lggseg.evaluation.evaluate import EvaluationResult, Example, evaluate
from lggseg.evaluation.metrics import ConfusionAccumulator, confusion_from_predictions, scores_from_confusion
from lggseg.evaluation.overlay import colourize, overlay
from lggseg.evaluation.prediction_mask import Excluded, PredictionMask
from lggseg.evaluation.report import write_report
from lggseg.evaluation.sliding_window import SlidingWindowPredictor
from lggseg.evaluation.trained_model import TrainedModel, load_trained_model
from lggseg.registry import register

# Registration with gin happens here only; the objects above stay plain.
register("SlidingWindowPredictor", SlidingWindowPredictor, module="lggseg.evaluation")
register("PredictionMask", PredictionMask, module="lggseg.evaluation")
register("evaluate", evaluate, module="lggseg.evaluation")
register("fit_class_weights", fit_class_weights, module="lggseg.evaluation")
register("prior_correction", prior_correction, module="lggseg.evaluation")

__all__ = [
    "ConfusionAccumulator",
    "DecisionResult",
    "DecisionRule",
    "EvaluationResult",
    "Excluded",
    "Example",
    "PixelSample",
    "PredictionMask",
    "SlidingWindowPredictor",
    "TrainedModel",
    "colourize",
    "confusion_from_predictions",
    "estimate_priors_em",
    "evaluate",
    "fit_class_weights",
    "load_trained_model",
    "overlay",
    "prior_correction",
    "scores_from_confusion",
    "write_report",
]
