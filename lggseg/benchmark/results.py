"""Benchmark results: one row per job, mean ± std over folds and seeds, paired verdicts, reports.

A job's scores are those of its test fold (``RUN_DIR/test/metrics.json``) in a
cross-validation suite, else of its validation images (``RUN_DIR/metrics.json``).

Files written by :func:`write_results` into the benchmark's output folder:

``results.csv``
  one row per entry x backend x seed x fold: ``entry``, ``backend``, ``seed``, ``fold``
  (empty without cross-validation), ``status``
  (``finished``, ``failed``, ``interrupted`` or ``pending`` = not run yet), then
  ``accuracy``, ``macro_f1``, ``macro_f1_no_bg``, ``miou``, ``ignored_pixels``,
  ``<CLASS>_<metric>`` for ``precision``, ``recall``,
  ``f1``, ``iou`` of each class (e.g. ``LE_recall``, ``IT_f1``), ``train_seconds``,
  ``tiles_per_second``, ``peak_rss_mb`` (of the training process) and ``wall_seconds``
  (the whole process: imports, training, evaluation). Empty cells: no value (a failed job,
  or a class absent from the evaluation images, whose scores are null in ``metrics.json``).
``results.json``
  ``results[entry][backend]``: ``n`` (finished jobs), ``metrics`` (every column above:
  ``mean``, ``std``, ``n`` over folds and seeds), ``pooled`` (scores of the test pixels of
  all finished folds pooled into one confusion matrix per seed: ``mean``, ``std``, ``n``
  over seeds, and ``folds`` pooled), ``rows`` (every job's row), ``versions``, ``machine``,
  ``errors``; ``comparisons[backend][entry][metric]`` (against the reference entry, see
  :mod:`lggseg.benchmark.statistics`); ``folds`` (every job's fold assignment agrees, or
  the disagreement); plus ``columns``, ``classes``, ``command``, ``date`` and ``suite``.
``results.md``
  per backend, tables of mean ± std per entry, per-class precision and IoU, pooled scores,
  the paired verdicts and per-fold LE and IT; failed and pending jobs with their errors;
  the command line, date, versions, machine.
``f1_per_class.png``
  per-class F1 per entry (mean, std as error bars), one panel per backend.

The standard deviation is the sample standard deviation (``ddof=1``); with one value it
is null and the tables show the mean alone.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lggseg.atomic_write import atomic_write
from lggseg.benchmark.plot import plot_f1
from lggseg.benchmark.runner import Outcome, is_finished, read_outcome
from lggseg.benchmark.statistics import paired_difference
from lggseg.benchmark.suite import Job, Suite
from lggseg.benchmark.tables import markdown
from lggseg.evaluation.metric_names import PER_CLASS_SCORES, flat_metrics, metric_names
from lggseg.evaluation.metrics import scores_from_confusion

ID_COLUMNS = ("entry", "backend", "seed", "fold", "status")
# The scores of results.csv: macro F1 with and without Background, since Background's labels
# are the least trustworthy (unannotated tissue), and how many pixels were ignored.
GLOBAL_METRICS = ("accuracy", "macro_f1", "macro_f1_no_bg", "miou")
CLASS_METRICS = PER_CLASS_SCORES
RUN_METRICS = ("ignored_pixels", "train_seconds", "tiles_per_second", "peak_rss_mb", "wall_seconds")
# Where a run keeps its test-fold report: lggseg.training.run_dir.TEST_DIR (not imported:
# that package imports keras; tests/benchmark checks that the two agree).
TEST_DIR = "test"
# The scores every entry is compared on, pair by pair, against the reference entry.
VERDICT_METRICS = ("macro_f1", "macro_f1_no_bg", "LE_f1", "IT_f1")


@dataclasses.dataclass
class JobResult:
    """The result of one job: its flat metrics (empty unless finished) and its context."""

    entry: str
    backend: str
    seed: int
    status: str
    fold: int | None = None
    values: dict[str, float | None] = dataclasses.field(default_factory=dict)
    classes: tuple[str, ...] = ()
    error: str | None = None
    versions: dict[str, Any] = dataclasses.field(default_factory=dict)
    machine: dict[str, Any] = dataclasses.field(default_factory=dict)
    # The scored pixels' confusion matrix (pooled over folds), the test images and the fold
    # assignment recorded in the run's split.json.
    confusion: list[list[float]] | None = None
    test_images: tuple[str, ...] = ()
    assignment: dict[str, int] | None = None


def metric_columns(classes: Sequence[str]) -> list[str]:
    """The metric columns of ``results.csv`` for these classes, in order."""
    return [*metric_names(classes, global_scores=GLOBAL_METRICS, per_class=CLASS_METRICS), *RUN_METRICS]


def job_result(job: Job, *, out_dir: Path, outcome: Outcome | None = None) -> JobResult:
    """Read one job's result from its run directory.

    Args:
      job: the job.
      out_dir: the benchmark's output folder.
      outcome: this invocation's outcome of the job, if it ran (or was skipped) now; else
        the job's ``benchmark.json`` is read, and a job with neither is ``pending``.
    """
    run_dir = Path(out_dir) / job.run_dir
    recorded = read_outcome(run_dir) or {}
    base = dict(entry=job.entry, backend=job.backend, seed=job.seed, fold=job.fold)
    finished = is_finished(run_dir) and (outcome is None or outcome.status == "finished")
    if not finished:
        if outcome is not None:
            return JobResult(**base, status=outcome.status, error=outcome.error)
        if recorded.get("status") == "finished":
            return JobResult(
                **base, status="failed",
                error=f"{run_dir} no longer holds a finished run (state.json 'finished' and metrics.json)",
            )
        if recorded:
            return JobResult(**base, status=recorded.get("status", "failed"), error=recorded.get("error"))
        return JobResult(**base, status="pending", error="not run yet")

    scored = run_dir / TEST_DIR / "metrics.json" if job.fold is not None else run_dir / "metrics.json"
    if not scored.is_file():
        return JobResult(**base, status="failed", error=f"{scored} is missing: the run has no test-fold scores")
    metrics = json.loads(scored.read_text())
    run = _read_json(run_dir / "run.json")
    split = _read_json(run_dir / "split.json")
    classes = tuple(metrics.get("classes") or metrics.get("per_class", {}).keys())
    flat = flat_metrics(metrics, global_scores=GLOBAL_METRICS, per_class=CLASS_METRICS)
    values: dict[str, float | None] = {name: _number(value) for name, value in flat.items()}
    values["ignored_pixels"] = _number(metrics.get("ignored_pixels", 0))
    for name in ("train_seconds", "tiles_per_second", "peak_rss_mb"):
        values[name] = _number(run.get(name))
    wall = outcome.wall_seconds if outcome is not None and outcome.wall_seconds is not None else None
    values["wall_seconds"] = _number(wall if wall is not None else recorded.get("wall_seconds"))
    return JobResult(
        **base,
        status="finished",
        values=values,
        classes=classes,
        versions=dict(run.get("versions") or {}),
        machine=dict(run.get("machine") or {}),
        confusion=metrics.get("confusion"),
        test_images=tuple(split.get("test", ())),
        assignment=(split.get("cross_validation") or {}).get("assignment"),
    )


def collect(
    jobs: Sequence[Job], *, out_dir: Path, outcomes: Sequence[Outcome] = ()
) -> list[JobResult]:
    """The results of ``jobs`` (this invocation's ``outcomes`` first, else what is on disk)."""
    by_job = {outcome.job: outcome for outcome in outcomes}
    return [job_result(job, out_dir=out_dir, outcome=by_job.get(job)) for job in jobs]


def classes_of(results: Sequence[JobResult]) -> list[str]:
    """The union of the classes of the finished results, in first-seen order."""
    out: list[str] = []
    for result in results:
        out.extend(code for code in result.classes if code not in out)
    return out


def mean_std(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """``mean``, sample ``std`` (``ddof=1``; null for fewer than 2 values) and ``n`` of the non-null values."""
    present = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(present)
    if n == 0:
        return {"mean": None, "std": None, "n": 0}
    mean = sum(present) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in present) / (n - 1)) if n > 1 else None
    return {"mean": mean, "std": std, "n": n}


def aggregate(results: Sequence[JobResult]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per entry and backend: ``n``, ``metrics`` (name -> mean/std/n over folds and seeds),
    ``pooled``, ``rows``, ``versions``, ``machine``, ``errors`` (entries and backends in
    first-seen order)."""
    columns = metric_columns(classes_of(results))
    groups: dict[str, dict[str, list[JobResult]]] = {}
    for result in results:
        groups.setdefault(result.entry, {}).setdefault(result.backend, []).append(result)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for entry, backends in groups.items():
        for backend, rows in backends.items():
            done = [r for r in rows if r.status == "finished"]
            out.setdefault(entry, {})[backend] = {
                "n": len(done),
                "metrics": {name: mean_std([r.values.get(name) for r in done]) for name in columns},
                "pooled": pooled_scores(done),
                "rows": [row_dict(r, columns) for r in rows],
                "versions": next((r.versions for r in done if r.versions), {}),
                "machine": next((r.machine for r in done if r.machine), {}),
                "errors": [
                    {"seed": r.seed, "fold": r.fold, "status": r.status, "error": r.error}
                    for r in rows if r.status != "finished"
                ],
            }
    return out


def pooled_scores(done: Sequence[JobResult]) -> dict[str, Any]:
    """Scores of every scored pixel at once: per seed, the confusion matrices of its finished
    folds summed; then mean ± std over seeds. ``folds``: how many folds each seed pooled."""
    by_seed: dict[int, list[JobResult]] = {}
    for r in done:
        if r.confusion is not None and r.classes:
            by_seed.setdefault(r.seed, []).append(r)
    rows, folds = [], {}
    for seed, runs in sorted(by_seed.items()):
        total = sum(np.asarray(r.confusion, np.float64) for r in runs)
        metrics = scores_from_confusion(total, class_names=list(runs[0].classes))
        rows.append(flat_metrics(metrics, global_scores=GLOBAL_METRICS, per_class=CLASS_METRICS))
        folds[seed] = len(runs)
    names = list(rows[0]) if rows else []
    return {
        "metrics": {name: mean_std([row.get(name) for row in rows]) for name in names},
        "folds": folds,
    }


def compare(
    results: Sequence[JobResult], *, reference: str, metrics: Sequence[str] = VERDICT_METRICS
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per backend and entry: the paired difference to ``reference`` of each of ``metrics``.

    Pairs are jobs of the same seed and fold that were tested on the same images (see
    :func:`lggseg.benchmark.statistics.paired_difference`).
    """
    finished = [r for r in results if r.status == "finished"]
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for backend in dict.fromkeys(r.backend for r in finished):
        mine = [r for r in finished if r.backend == backend]
        base = {_pair_key(r): r for r in mine if r.entry == reference}
        if not base:
            continue
        for entry in dict.fromkeys(r.entry for r in mine if r.entry != reference):
            other = {_pair_key(r): r for r in mine if r.entry == entry}
            out.setdefault(backend, {})[entry] = {
                metric: paired_difference(
                    {k: r.values.get(metric) for k, r in other.items()},
                    {k: r.values.get(metric) for k, r in base.items()},
                )
                for metric in metrics
            }
    return out


def _pair_key(result: JobResult) -> tuple:
    # The test images are part of the key: a job tested on other images is no pair.
    return (result.seed, result.fold, result.test_images)


def check_folds(results: Sequence[JobResult]) -> dict[str, Any]:
    """Whether every finished job recorded the same fold assignment (``agree``), and which."""
    seen: dict[str, list[str]] = {}
    for r in results:
        if r.status == "finished" and r.assignment is not None:
            key = json.dumps(r.assignment, sort_keys=True)
            seen.setdefault(key, []).append(f"{r.entry}/{r.backend}/seed{r.seed}/fold{r.fold}")
    if not seen:
        return {"agree": True, "assignment": None}
    if len(seen) == 1:
        return {"agree": True, "assignment": json.loads(next(iter(seen)))}
    return {"agree": False, "assignments": [{"assignment": json.loads(k), "jobs": v} for k, v in seen.items()]}


def row_dict(result: JobResult, columns: Sequence[str]) -> dict[str, Any]:
    """The ``results.csv`` row of one result."""
    row: dict[str, Any] = {
        "entry": result.entry,
        "backend": result.backend,
        "seed": result.seed,
        "fold": result.fold,
        "status": result.status,
    }
    row.update({name: result.values.get(name) for name in columns})
    return row


def write_results(
    results: Sequence[JobResult],
    *,
    out_dir: Path,
    command: str = "",
    suite: Suite | None = None,
    reference: str | None = None,
) -> dict[str, Path]:
    """Write ``results.csv``, ``results.json``, ``results.md`` and ``f1_per_class.png``.

    Args:
      reference: the entry every other is compared with, pair by pair (default: the
        suite's ``reference``, else the first entry).

    Returns:
      name -> path of each file written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    classes = classes_of(results)
    columns = metric_columns(classes)
    summary = aggregate(results)
    reference = reference or (suite.reference if suite is not None else None) or next(iter(summary), None)
    comparisons = compare(results, reference=reference) if reference else {}
    folds = check_folds(results)
    date = datetime.datetime.now().isoformat(timespec="seconds")
    paths = {
        "csv": out_dir / "results.csv",
        "json": out_dir / "results.json",
        "md": out_dir / "results.md",
        "png": out_dir / "f1_per_class.png",
    }
    _write_csv(paths["csv"], [row_dict(r, columns) for r in results], [*ID_COLUMNS, *columns])
    document = {
        "date": date,
        "command": command,
        "classes": classes,
        "columns": [*ID_COLUMNS, *columns],
        "suite": _suite_dict(suite),
        "reference": reference,
        "folds": folds,
        "results": summary,
        "comparisons": comparisons,
    }
    with atomic_write(paths["json"]) as tmp:
        tmp.write_text(json.dumps(document, indent=2))
    with atomic_write(paths["md"]) as tmp:
        tmp.write_text(markdown(
            summary, classes=classes, command=command, date=date, comparisons=comparisons, reference=reference,
            folds=folds,
        ))
    plot_f1(summary, classes=classes, path=paths["png"])
    return paths


# --- helpers -------------------------------------------------------------------------------


def _write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    import csv

    with atomic_write(path) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except json.JSONDecodeError:
        return {}


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _suite_dict(suite: Suite | None) -> dict[str, Any] | None:
    if suite is None:
        return None
    return {
        "entries": {k: list(v) for k, v in suite.entries.items()},
        "params": {k: list(v) for k, v in suite.params.items()},
        "common_files": list(suite.common_files),
        "common_params": list(suite.common_params),
        "backends": list(suite.backends),
        "seeds": suite.seeds,
        "split_seed": suite.split_seed,
        "folds": suite.folds,
        "fold_seed": suite.fold_seed,
        "reference": suite.reference,
    }
