"""write_report: metrics.json (schema), report.md (tables), plots/*.png."""

import json

import numpy as np
import pytest

from lggseg.classes import LGG_4
from lggseg.data.source import DataSource, Sample
from lggseg.evaluation import (
    ConfusionAccumulator,
    SlidingWindowPredictor,
    evaluate,
    fit_class_weights,
    write_report,
)
from lggseg.evaluation.overlay import overlay

CODES = list(LGG_4.codes)


def _metrics(seed: int, le_boost: float = 0.0):
    rng = np.random.default_rng(seed)
    y = rng.choice(4, size=(64, 64), p=[0.2, 0.6, 0.15, 0.05])
    logits = rng.normal(0, 1, (64, 64, 4)) + 2.0 * np.eye(4)[y]
    logits[..., 2] += le_boost
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    acc = ConfusionAccumulator(num_classes=4)
    acc.update(y_true=y, probs=p)
    return acc.result(class_names=CODES)


def _history():
    return [
        {"phase": 1, "epoch": 1, "loss": 1.2, "val_macro_f1": 0.3, "share_LE": 0.1},
        {"phase": 1, "epoch": 2, "loss": 0.9, "val_macro_f1": 0.4, "share_LE": 0.1},
        {"phase": 2, "epoch": 1, "loss": 0.7, "val_macro_f1": 0.5, "share_LE": 0.3},
    ]


def test_report_metrics_json_and_plots_are_written(tmp_path, fc_model):
    rng = np.random.default_rng(0)
    source = DataSource(
        samples=[Sample(image=rng.integers(0, 256, (32, 32, 3), dtype=np.uint8),
                        mask=rng.integers(0, 4, (32, 32), dtype=np.uint8), name=f"s{i}") for i in range(2)],
        scheme=LGG_4,
    )
    predictor = SlidingWindowPredictor(model=fc_model(), tile_size=32)
    val = evaluate(predictor=predictor, source=source, sample_pixels_per_class=50)
    rule = fit_class_weights(probs=val.pixels.probs, y_true=val.pixels.y_true,
                             sample_weight=val.pixels.weight, class_names=CODES)
    result = evaluate(predictor=predictor, source=source, decision_rules=[rule], decision_fitted_on="this data")
    baseline = _metrics(seed=1)

    report = write_report(
        out_dir=tmp_path / "eval",
        metrics=result.metrics,
        scheme=LGG_4,
        history=_history(),
        baseline_metrics=baseline,
        config_summary="model: tiny\ntile: 32",
        examples=result.examples,
        decision=result.decisions,
    )
    assert report == tmp_path / "eval" / "report.md"
    for name in ("training_curves", "confusion", "probability_histograms", "reliability", "overlays"):
        png = tmp_path / "eval" / "plots" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000, name
        assert f"plots/{name}.png" in report.read_text()

    text = report.read_text()
    assert "| Class | Precision | Recall | F1-Score | Change from Baseline |" in text
    assert "model: tiny" in text
    assert "| Class | Mean | Max | > 0.3 | > 0.5 | Pixels |" in text
    assert "| LE |" in text and "→ CT" in text  # the rare-class confusion rows
    assert "Decision rule beside the argmax: class_weights" in text and "Fitted on: this data" in text
    # Every class row of the method's table has a filled change column against a baseline.
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and ln.count("|") == 6]
    method_rows = rows[rows.index("| Class | Precision | Recall | F1-Score | Change from Baseline |") + 1:][:4]
    assert all(("↑" in r or "↓" in r or "= 0.00" in r) for r in method_rows), method_rows

    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    _check_schema(metrics)
    assert metrics["decision_rules"][0]["rule"]["kind"] == "class_weights"
    _check_schema(metrics["decision_rules"][0]["metrics"])


def _check_schema(m):
    assert m["classes"] == CODES
    assert isinstance(m["pixels"], int)
    for key in ("accuracy", "macro_f1", "miou", "macro_f1_no_bg", "miou_no_bg", "ece"):
        assert m[key] is None or isinstance(m[key], float), key
    for name in CODES:
        pc = m["per_class"][name]
        assert set(pc) == {"precision", "recall", "f1", "iou", "dice", "support", "predicted"}
        assert isinstance(pc["support"], int)
        prob = m["probability"][name]
        assert set(prob) == {"mean", "max", "frac_above_0.3", "frac_above_0.5", "count"}
    assert "all" in m["probability"] and "all" in m["histograms"]
    k = len(CODES)
    assert np.asarray(m["confusion"]).shape == (k, k)
    assert len(m["confusion_normalized"]) == k
    assert len(m["histograms"]["bin_edges"]) == len(m["histograms"]["all"]) + 1
    assert set(m["calibration"]) == {"bin_edges", "count", "confidence", "accuracy", "mean_confidence"}
    assert isinstance(m["macro_skipped"], list)


def test_change_column_and_absent_classes(tmp_path):
    better = _metrics(seed=0, le_boost=1.0)
    base = _metrics(seed=0)
    text = write_report(out_dir=tmp_path, metrics=better, scheme=LGG_4, baseline_metrics=base).read_text()
    le_row = next(ln for ln in text.splitlines() if ln.startswith("| LE |"))
    assert "↑ +" in le_row and "recall" in le_row
    # Without a baseline the change column is a dash; an absent class shows dashes, not 0.
    acc = ConfusionAccumulator(num_classes=4)
    acc.update(y_true=np.array([0, 1, 1, 2]), probs=np.eye(4)[[0, 1, 2, 2]])
    text = write_report(out_dir=tmp_path / "b", metrics=acc.result(class_names=CODES), scheme=LGG_4).read_text()
    it_row = next(ln for ln in text.splitlines() if ln.startswith("| IT |"))
    assert it_row == "| IT | – | – | – | – |"
    assert "skip classes absent from the data: IT" in text
    assert not (tmp_path / "b" / "plots" / "training_curves.png").exists()


def test_report_rejects_a_scheme_that_does_not_match(tmp_path):
    from lggseg.classes import IVYGAP_8

    with pytest.raises(ValueError, match="scheme"):
        write_report(out_dir=tmp_path, metrics=_metrics(0), scheme=IVYGAP_8)


def test_overlay_colours_classes_and_leaves_background():
    image = np.full((2, 2, 3), 100, np.uint8)
    mask = np.array([[0, 1], [2, 3]])
    out = overlay(image, mask, scheme=LGG_4, alpha=1.0)
    assert tuple(out[0, 0]) == (100, 100, 100)  # BG left as the image
    assert tuple(out[0, 1]) == LGG_4.colours[1] and tuple(out[1, 1]) == LGG_4.colours[3]
