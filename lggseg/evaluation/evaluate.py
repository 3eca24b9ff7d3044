"""Evaluate a model on a data source: whole images through the sliding-window predictor.

Every image is predicted whole (any size), the probabilities go into one
:class:`~lggseg.evaluation.metrics.ConfusionAccumulator` for the data set, and a few
images are kept for overlays. When the masks and the model use different class schemes
the masks (or, for an 8-class model on 4-class masks, the probabilities) are mapped with
the IvyGAP -> LGG mapping, and the result says so.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lggseg.classes import (
    IGNORE_INDEX,
    IVYGAP_8,
    LGG_4,
    ClassMapping,
    ClassScheme,
    apply_lookup,
    ivygap_to_lgg,
    scheme_for_num_classes,
)
from lggseg.data.source import DataSource
from lggseg.evaluation.decision import DecisionResult, DecisionRule, PixelSample, sample_pixels
from lggseg.evaluation.metrics import ConfusionAccumulator
from lggseg.evaluation.sliding_window import SlidingWindowPredictor

__all__ = ["evaluate", "EvaluationResult", "Example"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Example:
    """One evaluated image kept for overlays.

    Attributes:
      name: the sample's name.
      image: ``(H, W, 3)`` uint8, as stored (before stain normalisation).
      mask: ``(H, W)`` true class indices in the result's scheme.
      prediction: ``(H, W)`` argmax class indices.
      probs: ``(H, W, C)`` float32 probabilities.
    """

    name: str
    image: np.ndarray
    mask: np.ndarray
    prediction: np.ndarray
    probs: np.ndarray


@dataclasses.dataclass(frozen=True)
class EvaluationResult:
    """What :func:`evaluate` returns.

    Attributes:
      metrics: the ``metrics.json`` dictionary (see :mod:`lggseg.evaluation.metrics`),
        with ``notes`` added.
      scheme: the class scheme the metrics are in (the model's output classes, or the
        masks' when the model's probabilities were mapped onto them).
      examples: the first ``keep_examples`` images with predictions.
      notes: what was done to make masks and model comparable, for logs and reports.
      pixels: a class-stratified pixel sample for fitting decision rules (``None``
        unless requested).
      decisions: results of the decision rules given, beside the argmax ``metrics``.
    """

    metrics: dict[str, Any]
    scheme: ClassScheme
    examples: list[Example]
    notes: list[str]
    pixels: PixelSample | None = None
    decisions: list[DecisionResult] = dataclasses.field(default_factory=list)


def evaluate(
    *,
    predictor: SlidingWindowPredictor,
    source: DataSource,
    mapping: ClassMapping | None = None,
    keep_examples: int = 4,
    model_scheme: ClassScheme | None = None,
    decision_rules: Sequence[DecisionRule] = (),
    decision_fitted_on: str = "validation",
    sample_pixels_per_class: int = 0,
    ignore_index: int | None = IGNORE_INDEX,
    bins: int = 20,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationResult:
    """Predict every image of ``source`` whole and accumulate metrics over all pixels.

    Args:
      predictor: the sliding-window predictor (model, tiles, TTA, normaliser).
      source: images and masks.
      mapping: maps the masks' classes onto the model's; ``None`` = none needed, or the
        IvyGAP 8 -> LGG 4 mapping when the masks have the 8 IvyGAP classes and the
        model 4 classes (said in ``notes``).
      keep_examples: how many images (the first ones) to keep for overlays.
      model_scheme: the model's output classes (a run's ``classes.tsv``); ``None`` =
        the masks' scheme if the class counts match, else LGG_4 for 4 and IVYGAP_8 for 8.
      decision_rules: rules evaluated beside the argmax (see
        :mod:`lggseg.evaluation.decision`).
      decision_fitted_on: where the rules were fitted, recorded in their results.
      sample_pixels_per_class: if > 0, keep up to this many pixels per class and image
        as :attr:`EvaluationResult.pixels`, to fit decision rules on.
      ignore_index: true-class value left out of the metrics, the decision rules' scores
        and the pixel sample (counted as ``ignored_pixels``); by default the "unlabelled"
        :data:`~lggseg.classes.IGNORE_INDEX`.
      bins: probability histogram / calibration bins.
      seed: seeds the pixel sample.
      progress: called as ``progress(images_done, images_total)``.
    """
    target, mask_lut, prob_matrix, notes = _reconcile(
        source_scheme=source.scheme,
        num_outputs=predictor.num_classes,
        mapping=mapping,
        model_scheme=model_scheme,
    )
    for note in notes:
        log.info(note)
    k = target.num_classes
    names = list(target.codes)
    _check_rules(decision_rules, names)
    acc = ConfusionAccumulator(num_classes=k, bins=bins)
    rule_accs = [ConfusionAccumulator(num_classes=k, bins=bins) for _ in decision_rules]
    rng = np.random.default_rng(seed)
    samples: list[PixelSample] = []
    examples: list[Example] = []
    for i, sample in enumerate(source):
        probs = predictor.predict(sample.image)
        if prob_matrix is not None:
            probs = probs @ prob_matrix
        # apply_lookup keeps unlabelled pixels unlabelled through the class mapping.
        mask = sample.mask if mask_lut is None else apply_lookup(mask_lut, sample.mask)
        acc.update(y_true=mask, probs=probs, ignore_index=ignore_index)
        for rule, rule_acc in zip(decision_rules, rule_accs):
            rule_acc.update(y_true=mask, probs=rule.apply(probs), ignore_index=ignore_index)
        if sample_pixels_per_class > 0:
            samples.append(sample_pixels(y_true=mask, probs=probs, per_class=sample_pixels_per_class, rng=rng,
                                         ignore_index=ignore_index))
        if len(examples) < keep_examples:
            examples.append(_example(sample, mask=mask, probs=probs))
        if progress is not None:
            progress(i + 1, len(source))
    metrics = acc.result(class_names=names)
    metrics["notes"] = list(notes)
    decisions = [DecisionResult(rule=rule, metrics=rule_acc.result(class_names=names), fitted_on=decision_fitted_on)
                 for rule, rule_acc in zip(decision_rules, rule_accs)]
    return EvaluationResult(
        metrics=metrics,
        scheme=target,
        examples=examples,
        notes=list(notes),
        pixels=PixelSample.concatenate(samples) if samples else None,
        decisions=decisions,
    )


def _check_rules(rules: Sequence[DecisionRule], names: Sequence[str]) -> None:
    for rule in rules:
        if len(rule.weights) != len(names):
            raise ValueError(
                f"Decision rule {rule.kind} has {len(rule.weights)} weights; the evaluated classes are "
                f"{', '.join(names)}."
            )


def _example(sample, *, mask: np.ndarray, probs: np.ndarray) -> Example:
    """An image kept for the report's overlays: its mask and prediction in the evaluated classes."""
    return Example(
        name=sample.name,
        image=sample.image,
        mask=np.asarray(mask, dtype=np.uint8),
        prediction=np.argmax(probs, axis=-1).astype(np.uint8),
        probs=probs,
    )


def _same(a: ClassScheme, b: ClassScheme) -> bool:
    # Colours may differ between a palette.tsv and the built-in scheme; codes decide.
    return tuple(c.lower() for c in a.codes) == tuple(c.lower() for c in b.codes)


def _reconcile(
    *,
    source_scheme: ClassScheme,
    num_outputs: int,
    mapping: ClassMapping | None,
    model_scheme: ClassScheme | None,
) -> tuple[ClassScheme, np.ndarray | None, np.ndarray | None, list[str]]:
    """-> (scheme of the metrics, mask lookup or None, (C_model, C_target) prob matrix or None, notes)."""
    if model_scheme is None:
        if mapping is not None:
            model_scheme = mapping.target
        elif source_scheme.num_classes == num_outputs:
            model_scheme = source_scheme
        else:
            try:
                model_scheme = scheme_for_num_classes(num_outputs)
            except ValueError:
                raise ValueError(
                    f"The model outputs {num_outputs} classes and the masks have {source_scheme.num_classes} "
                    f"({', '.join(source_scheme.codes)}); pass the model's class scheme (its classes.tsv) and "
                    f"a mapping between the two."
                ) from None
    if model_scheme.num_classes != num_outputs:
        raise ValueError(
            f"The model outputs {num_outputs} classes but its scheme lists {model_scheme.num_classes} "
            f"({', '.join(model_scheme.codes)})."
        )
    if mapping is not None:
        if not _same(mapping.source, source_scheme) or not _same(mapping.target, model_scheme):
            raise ValueError(
                f"The mapping goes from {', '.join(mapping.source.codes)} to {', '.join(mapping.target.codes)}, "
                f"but the masks have {', '.join(source_scheme.codes)} and the model "
                f"{', '.join(model_scheme.codes)}."
            )
        note = (
            f"Masks mapped from {source_scheme.num_classes} to {model_scheme.num_classes} classes: "
            + _describe(mapping)
        )
        return model_scheme, mapping.lookup(), None, [note]
    if _same(source_scheme, model_scheme):
        return model_scheme, None, None, []
    if _same(source_scheme, IVYGAP_8) and _same(model_scheme, LGG_4):
        m = ivygap_to_lgg()
        note = (
            "The masks have the 8 IvyGAP classes and the model the 4 LGG classes: the IvyGAP -> LGG "
            "mapping was applied to the masks (" + _describe(m) + ")."
        )
        return model_scheme, m.lookup(), None, [note]
    if _same(source_scheme, LGG_4) and _same(model_scheme, IVYGAP_8):
        m = ivygap_to_lgg()
        matrix = np.zeros((IVYGAP_8.num_classes, LGG_4.num_classes), dtype=np.float32)
        matrix[np.arange(IVYGAP_8.num_classes), m.lookup()] = 1.0
        note = (
            "The model outputs the 8 IvyGAP classes and the masks have the 4 LGG classes: the model's "
            "probabilities were summed into the LGG classes (" + _describe(m) + ")."
        )
        return source_scheme, None, matrix, [note]
    raise ValueError(
        f"The masks have classes {', '.join(source_scheme.codes)} and the model "
        f"{', '.join(model_scheme.codes)}; pass a ClassMapping from the masks' scheme to the model's."
    )


def _describe(mapping: ClassMapping) -> str:
    groups: dict[str, list[str]] = {}
    for s, t in mapping.table:
        groups.setdefault(t, []).append(s)
    return "; ".join(f"{', '.join(srcs)} -> {t}" for t, srcs in groups.items())
