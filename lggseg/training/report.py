"""Finishing a run: the final model, the rare-class decision rule, ``run.json`` and the report."""

from __future__ import annotations

import os
from typing import Any

import keras

from lggseg.training import run_dir as rd
from lggseg.training.checkpoint import TRAINING_STATE
from lggseg.training.console import say, scores_line
from lggseg.training.run import TrainingRun, note_collapse

__all__ = ["finish_run", "run_summary", "score_test_fold"]


def finish_run(run: TrainingRun, *, rule_pixels: int) -> None:
    """Save ``model.keras``, fit the decision rule, write ``run.json`` and the final report."""
    from lggseg.evaluation import write_report

    rd.save_model_atomic(run.net, run.dir / "model.keras")
    result = run.last_result
    if result is None:  # every phase had been finished before this call
        result = run.validate(sample_pixels_per_class=rule_pixels if run.decision_rule else 0)
    metrics, examples, decisions = result.metrics, result.examples, None
    rule = None
    if run.decision_rule:
        rule, metrics, examples, decisions = _fit_decision_rule(run, sampled=result)
    if run.test_src is not None:
        score_test_fold(run, rule=rule)
    run.state.status = "finished"
    rd.write_json_atomic(run.dir / "run.json", run_summary(run))
    write_report(
        out_dir=run.dir,
        metrics=metrics,
        scheme=run.scheme,
        history=rd.read_history(run.dir),
        config_summary=_config_summary(run),
        examples=examples,
        decision=decisions,
    )
    run.state.save(run.dir)
    run.checkpoint.unlink(missing_ok=True)
    (run.dir / TRAINING_STATE).unlink(missing_ok=True)


def score_test_fold(run: TrainingRun, *, rule: Any = None) -> None:
    """Score the finished model on the held-out test fold: ``test/metrics.json`` and ``test/report.md``.

    The test fold chose nothing: the model, its epochs and the decision rule (fitted on the
    validation images, reported beside the argmax) were all settled before it is predicted.
    """
    from lggseg.evaluation import write_report

    test = run.evaluator(
        predictor=run.predictor,
        source=run.test_src,
        decision_rules=[rule] if rule is not None else [],
        decision_fitted_on="the validation images (not the test fold)",
    )
    note_collapse(test.metrics)
    names = ", ".join(run.test_src.names)
    write_report(
        out_dir=run.dir / rd.TEST_DIR,
        metrics=test.metrics,
        scheme=run.scheme,
        config_summary=f"Test fold: {names}. Nothing was chosen on these images.",
        examples=test.examples,
        decision=test.decisions,
        title="Test-fold report",
    )
    say(f"test fold ({names}): {scores_line(test.metrics, run.scheme.codes)}")


def _fit_decision_rule(run: TrainingRun, *, sampled) -> tuple[Any, dict[str, Any], Any, Any]:
    """Fit per-class weights on ``sampled`` validation pixels; evaluate argmax and rule side by side."""
    from lggseg.evaluation import fit_class_weights

    rule = fit_class_weights(
        probs=sampled.pixels.probs,
        y_true=sampled.pixels.y_true,
        sample_weight=sampled.pixels.weight,
        class_names=run.scheme.codes,
    )
    rule.save(run.dir / "decision_rule.json")
    both = run.evaluator(
        predictor=run.predictor,
        source=run.val_src,
        decision_rules=[rule],
        decision_fitted_on="these validation images (so its numbers are optimistic)",
    )
    note_collapse(both.metrics)
    return rule, both.metrics, both.examples, both.decisions


def _config_summary(run: TrainingRun) -> str:
    lines = [f"Run directory: `{run.dir}`", "", "Phases:"]
    lines += [f"{i}. {p.describe()}" for i, p in enumerate(run.phases, start=1)]
    return "\n".join(lines)


def run_summary(run: TrainingRun) -> dict[str, Any]:
    """``run.json``: backend, versions, machine, peak memory, time and throughput of the run."""
    import importlib.metadata
    import platform
    import resource

    state = run.state
    tiles = state.steps_done * run.dataset.batch_size
    versions = {}
    for package in ("lggseg", "keras", "jax", "tensorflow", "numpy"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "backend": keras.backend.backend(),
        "versions": versions,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        # ru_maxrss is in KiB on Linux: the peak of this process, model and data included.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "train_seconds": state.train_seconds,
        "steps": state.steps_done,
        "tiles": tiles,
        "tiles_per_second": tiles / state.train_seconds if state.train_seconds > 0 else None,
        "phases": [p.describe() for p in run.phases],
        "parameters": int(run.net.count_params()),
    }
