"""The evaluation report: ``metrics.json``, ``report.md`` and ``plots/*.png`` in one folder.

``report.md`` puts per-class results first, because pixel accuracy hides rare classes:
the per-class table in the method's format (``| Class | Precision | Recall | F1-Score |
Change from Baseline |``), the probability table (how much probability the model gives
each true class), the row-normalised confusion of the rare classes (where LE and IT
pixels go), decision-rule results beside the argmax, and the plots.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lggseg.atomic_write import atomic_write
from lggseg.classes import ClassScheme
from lggseg.evaluation import plots
from lggseg.evaluation.decision import DecisionResult
from lggseg.evaluation.metrics import PROBABILITY_THRESHOLDS, is_background

__all__ = ["write_report", "RARE_CLASS_CODES"]

# The classes the report singles out when the scheme has them; otherwise every
# non-background class below RARE_SHARE of the pixels counts as rare.
RARE_CLASS_CODES = ("LE", "IT")
RARE_SHARE = 0.10

_DASH = "–"


def write_report(
    *,
    out_dir: str | Path,
    metrics: Mapping[str, Any],
    scheme: ClassScheme,
    history: str | Path | Sequence[Mapping[str, Any]] | None = None,
    baseline_metrics: Mapping[str, Any] | None = None,
    config_summary: str = "",
    examples: Sequence[Any] | None = None,
    decision: DecisionResult | Sequence[DecisionResult] | None = None,
    title: str = "Evaluation report",
    baseline_name: str = "",
    with_plots: bool = True,
) -> Path:
    """Write ``metrics.json``, ``report.md`` and ``plots/*.png`` into ``out_dir``.

    Args:
      out_dir: the folder (created).
      metrics: the ``metrics.json`` dictionary of :class:`ConfusionAccumulator.result`.
      scheme: the classes of ``metrics`` (for colours in the overlays).
      history: training history (``history.csv`` or rows) for the training-curves plot.
      baseline_metrics: another model's metrics on the same data; fills the change column.
      config_summary: free text (e.g. the run's gin config) shown at the top.
      examples: evaluated images for the overlay figure (``Example`` objects).
      decision: decision-rule results, reported beside the argmax and added to
        ``metrics.json`` as ``decision_rules``.
      title: the report's heading.
      baseline_name: what the baseline is (e.g. its run folder), named in the report.
      with_plots: draw ``plots/*.png`` (the trainer skips them for intermediate phases,
        whose metrics and tables are still written).

    Returns:
      the path of ``report.md``.
    """
    out = Path(out_dir)
    plot_dir = out / "plots"
    (plot_dir if with_plots else out).mkdir(parents=True, exist_ok=True)
    decisions = [] if decision is None else [decision] if isinstance(decision, DecisionResult) else list(decision)
    if len(metrics["classes"]) != scheme.num_classes:
        raise ValueError(
            f"The metrics have {len(metrics['classes'])} classes ({', '.join(metrics['classes'])}) but the "
            f"scheme {scheme.num_classes} ({', '.join(scheme.codes)})."
        )

    payload = dict(metrics)
    if decisions:
        payload["decision_rules"] = [d.to_dict() for d in decisions]
    with atomic_write(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(_json_safe(payload), indent=2))

    figures = _figures(plot_dir if with_plots else None, metrics=metrics, scheme=scheme, history=history,
                       examples=examples)
    lines = [f"# {title}", ""]
    if config_summary.strip():
        lines += ["## Configuration", "", "```", config_summary.strip(), "```", ""]
    for note in metrics.get("notes", []):
        lines += [f"> {note}", ""]
    if baseline_metrics is not None:
        lines += [f"Baseline: {baseline_name or 'given metrics'}.", ""]
    lines += _overall(metrics, baseline_metrics)
    lines += _per_class(metrics, baseline_metrics)
    lines += _probability(metrics)
    lines += _rare_confusion(metrics)
    for d in decisions:
        lines += _decision(metrics, d)
    lines += ["## Plots", ""]
    for caption, rel in figures:
        lines += [f"### {caption}", "", f"![{caption}]({rel})", ""]
    report = out / "report.md"
    with atomic_write(report) as tmp:
        tmp.write_text("\n".join(lines).rstrip() + "\n")
    return report


def _figures(plot_dir: Path | None, *, metrics, scheme, history, examples) -> list[tuple[str, str]]:
    """Draw the report's plots into ``plot_dir`` (none when it is None); ``(caption, relative path)`` each."""
    figures: list[tuple[str, str]] = []

    def save(draw, name: str, caption: str) -> None:
        if plot_dir is None:
            return
        plots.save_figure(draw(), plot_dir / name)
        figures.append((caption, f"plots/{name}"))

    if history is not None and plots.read_history(history):
        save(lambda: plots.training_curves(history), "training_curves.png", "Training curves")
    save(lambda: plots.confusion_matrix(metrics), "confusion.png", "Confusion matrix (row-normalised)")
    save(lambda: plots.probability_histograms(metrics), "probability_histograms.png",
         "Probability of the true class, per class")
    save(lambda: plots.reliability_diagram(metrics), "reliability.png", "Calibration (reliability diagram)")
    if examples:
        save(lambda: plots.overlays(examples, scheme=scheme), "overlays.png", "True and predicted masks")
    return figures


def _json_safe(value: Any) -> Any:
    # NaN is not JSON; the schema uses null for "undefined".
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _json_safe(value.item())
    return value


def _f(value: float | None, digits: int = 2) -> str:
    return _DASH if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return _DASH if value is None else f"{100 * value:.1f} %"


def _overall(metrics: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> list[str]:
    rows = [
        ("Pixels", f"{metrics['pixels']:,}", None),
        ("Pixel accuracy", _f(metrics["accuracy"], 3), "accuracy"),
        ("Macro F1", _f(metrics["macro_f1"], 3), "macro_f1"),
        ("Macro F1 without Background", _f(metrics["macro_f1_no_bg"], 3), "macro_f1_no_bg"),
        ("Mean IoU", _f(metrics["miou"], 3), "miou"),
        ("Mean IoU without Background", _f(metrics["miou_no_bg"], 3), "miou_no_bg"),
        ("Expected calibration error", _f(metrics["ece"], 3), "ece"),
    ]
    head = "| Measure | Value |" + (" Baseline |" if baseline else "")
    lines = ["## Overall", "", head, "|---|---|" + ("---|" if baseline else "")]
    for label, value, key in rows:
        extra = f" {_f(baseline.get(key), 3)} |" if baseline and key else (f" {_DASH} |" if baseline else "")
        lines.append(f"| {label} | {value} |{extra}")
    if metrics.get("macro_skipped"):
        lines += ["", f"Macro averages skip classes absent from the data: {', '.join(metrics['macro_skipped'])}."]
    # Older metrics.json files have no count; say nothing rather than "0 ignored".
    ignored = metrics.get("ignored_pixels")
    if ignored is not None:
        share = ignored / max(ignored + metrics["pixels"], 1)
        lines += [
            "",
            f"Ignored (unlabelled) pixels: {ignored:,} ({100 * share:.1f} % of all pixels); "
            "they are left out of every score.",
        ]
    lines += [
        "",
        "Pixel accuracy is dominated by the largest classes; read the per-class table below.",
        "",
    ]
    return lines


def _change(cls: Mapping[str, Any], base: Mapping[str, Any] | None) -> str:
    """e.g. ``↑ +0.60 recall, ↓ -0.30 precision, ↑ +0.10 F1``: every change, largest first."""
    if base is None:
        return _DASH
    deltas = [
        (cls[k] - base[k], label)
        for k, label in (("precision", "precision"), ("recall", "recall"), ("f1", "F1"))
        if cls.get(k) is not None and base.get(k) is not None
    ]
    if not deltas:
        return _DASH
    moved = sorted((d for d in deltas if abs(d[0]) >= 0.005), key=lambda d: -abs(d[0]))
    if not moved:
        return "= 0.00"
    return ", ".join(f"{'↑' if d > 0 else '↓'} {d:+.2f} {label}" for d, label in moved)


def _per_class(metrics: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> list[str]:
    base_pc = (baseline or {}).get("per_class", {})
    lines = [
        "## Per class",
        "",
        "| Class | Precision | Recall | F1-Score | Change from Baseline |",
        "|---|---|---|---|---|",
    ]
    for name in metrics["classes"]:
        c = metrics["per_class"][name]
        change = _change(c, base_pc.get(name)) if baseline else _DASH
        lines.append(f"| {name} | {_f(c['precision'])} | {_f(c['recall'])} | {_f(c['f1'])} | {change} |")
    lines += [
        "",
        "| Class | IoU | Dice | Support (px) | Predicted (px) |",
        "|---|---|---|---|---|",
    ]
    for name in metrics["classes"]:
        c = metrics["per_class"][name]
        lines.append(f"| {name} | {_f(c['iou'])} | {_f(c['dice'])} | {c['support']:,} | {c['predicted']:,} |")
    lines.append("")
    return lines


def _probability(metrics: Mapping[str, Any]) -> list[str]:
    above = " | ".join(f"> {t}" for t in PROBABILITY_THRESHOLDS)
    lines = [
        "## Probability of the true class",
        "",
        "Over the pixels of each true class, the probability the model gives that class "
        "(`all`: over every pixel, the probability of its true class).",
        "",
        f"| Class | Mean | Max | {above} | Pixels |",
        "|---|---|---|" + "---|" * len(PROBABILITY_THRESHOLDS) + "---|",
    ]
    for name in [*metrics["classes"], "all"]:
        p = metrics["probability"][name]
        cells = " | ".join(_pct(p[f"frac_above_{t}"]) for t in PROBABILITY_THRESHOLDS)
        lines.append(f"| {name} | {_f(p['mean'])} | {_f(p['max'])} | {cells} | {p['count']:,} |")
    lines.append("")
    return lines


def _rare_classes(metrics: Mapping[str, Any]) -> list[str]:
    names = list(metrics["classes"])
    wanted = [n for n in names if n.upper() in RARE_CLASS_CODES]
    if wanted:
        return wanted
    total = max(metrics["pixels"], 1)
    return [
        n for n in names
        if not is_background(n) and 0 < metrics["per_class"][n]["support"] / total < RARE_SHARE
    ]


def _rare_confusion(metrics: Mapping[str, Any]) -> list[str]:
    names = list(metrics["classes"])
    rare = _rare_classes(metrics)
    if not rare:
        return []
    lines = [
        "## Where the rare classes go",
        "",
        "Share of each rare class's pixels predicted as each class (a row of the row-normalised confusion).",
        "",
        "| True class | " + " | ".join(f"→ {n}" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for name in rare:
        row = metrics["confusion_normalized"][names.index(name)]
        cells = [_DASH] * len(names) if row is None else [_pct(v) for v in row]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _decision(metrics: Mapping[str, Any], result: DecisionResult) -> list[str]:
    rule, m = result.rule, result.metrics
    weights = ", ".join(f"{n} × {w:.3g}" for n, w in zip(rule.class_names, rule.weights))
    lines = [
        f"## Decision rule beside the argmax: {rule.kind}",
        "",
        f"{rule.description}. Weights: {weights}. Fitted on: {result.fitted_on}.",
        "",
        "| Class | Argmax Precision | Argmax Recall | Argmax F1 | Rule Precision | Rule Recall | Rule F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in metrics["classes"]:
        a, r = metrics["per_class"][name], m["per_class"][name]
        lines.append(
            f"| {name} | {_f(a['precision'])} | {_f(a['recall'])} | {_f(a['f1'])} | "
            f"{_f(r['precision'])} | {_f(r['recall'])} | {_f(r['f1'])} |"
        )
    lines += [
        "",
        f"Macro F1: argmax {_f(metrics['macro_f1'], 3)}, rule {_f(m['macro_f1'], 3)}; "
        f"pixel accuracy: argmax {_f(metrics['accuracy'], 3)}, rule {_f(m['accuracy'], 3)}.",
        "",
    ]
    return lines
