"""Benchmark results: one row per job, mean ± std over seeds, and the written reports.

Files written by :func:`write_results` into the benchmark's output folder:

``results.csv``
  one row per entry x backend x seed: ``entry``, ``backend``, ``seed``, ``status``
  (``finished``, ``failed``, ``interrupted`` or ``pending`` = not run yet), then
  ``accuracy``, ``macro_f1``, ``miou``, ``<CLASS>_<metric>`` for ``precision``, ``recall``,
  ``f1``, ``iou`` of each class (e.g. ``LE_recall``, ``IT_f1``), ``train_seconds``,
  ``tiles_per_second``, ``peak_rss_mb`` (of the training process) and ``wall_seconds``
  (the whole process: imports, training, evaluation). Empty cells: no value (a failed job,
  or a class absent from the evaluation images, whose scores are null in ``metrics.json``).
``results.json``
  ``results[entry][backend]``: ``n`` (finished seeds), ``metrics`` (every column above:
  ``mean``, ``std``, ``n``), ``rows`` (the per-seed rows), ``versions``, ``machine``,
  ``errors``; plus ``columns``, ``classes``, ``command``, ``date`` and ``suite``.
``results.md``
  per backend, a table of mean ± std per entry and one of per-class precision and IoU;
  failed and pending jobs with their errors; the command line, date, versions, machine.
``f1_per_class.png``
  per-class F1 per entry (mean, std as error bars), one panel per backend.

The standard deviation is the sample standard deviation over seeds (``ddof=1``); with one
seed it is null and the tables show the mean alone.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lggseg.atomic_write import atomic_write
from lggseg.benchmark.plot import plot_f1
from lggseg.benchmark.runner import Outcome, is_finished, read_outcome
from lggseg.benchmark.suite import Job, Suite
from lggseg.benchmark.tables import markdown
from lggseg.evaluation.metric_names import GLOBAL_SCORES, PER_CLASS_SCORES, flat_metrics, metric_names

ID_COLUMNS = ("entry", "backend", "seed", "status")
# The scores of results.csv (lggseg.evaluation.metric_names' default columns).
GLOBAL_METRICS = GLOBAL_SCORES
CLASS_METRICS = PER_CLASS_SCORES
RUN_METRICS = ("train_seconds", "tiles_per_second", "peak_rss_mb", "wall_seconds")


@dataclasses.dataclass
class JobResult:
    """The result of one job: its flat metrics (empty unless finished) and its context."""

    entry: str
    backend: str
    seed: int
    status: str
    values: dict[str, float | None] = dataclasses.field(default_factory=dict)
    classes: tuple[str, ...] = ()
    error: str | None = None
    versions: dict[str, Any] = dataclasses.field(default_factory=dict)
    machine: dict[str, Any] = dataclasses.field(default_factory=dict)


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
    base = dict(entry=job.entry, backend=job.backend, seed=job.seed)
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

    metrics = json.loads((run_dir / "metrics.json").read_text())
    run = _read_json(run_dir / "run.json")
    classes = tuple(metrics.get("classes") or metrics.get("per_class", {}).keys())
    flat = flat_metrics(metrics, global_scores=GLOBAL_METRICS, per_class=CLASS_METRICS)
    values: dict[str, float | None] = {name: _number(value) for name, value in flat.items()}
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
    """Per entry and backend: ``n``, ``metrics`` (name -> mean/std/n), ``rows``, ``versions``,
    ``machine``, ``errors`` (entries and backends in first-seen order)."""
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
                "rows": [row_dict(r, columns) for r in rows],
                "versions": next((r.versions for r in done if r.versions), {}),
                "machine": next((r.machine for r in done if r.machine), {}),
                "errors": [
                    {"seed": r.seed, "status": r.status, "error": r.error} for r in rows if r.status != "finished"
                ],
            }
    return out


def row_dict(result: JobResult, columns: Sequence[str]) -> dict[str, Any]:
    """The ``results.csv`` row of one result."""
    row: dict[str, Any] = {
        "entry": result.entry,
        "backend": result.backend,
        "seed": result.seed,
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
) -> dict[str, Path]:
    """Write ``results.csv``, ``results.json``, ``results.md`` and ``f1_per_class.png``.

    Returns:
      name -> path of each file written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    classes = classes_of(results)
    columns = metric_columns(classes)
    summary = aggregate(results)
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
        "results": summary,
    }
    with atomic_write(paths["json"]) as tmp:
        tmp.write_text(json.dumps(document, indent=2))
    with atomic_write(paths["md"]) as tmp:
        tmp.write_text(markdown(summary, classes=classes, command=command, date=date))
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
    }
