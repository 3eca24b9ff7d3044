"""The tables of ``results.md``: per backend, mean ± std per entry, verdicts, failures, versions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lggseg.benchmark.statistics import MIN_PAIRS, describe

__all__ = ["comparison_tables", "fold_tables", "markdown", "summary_tables"]


def markdown(
    summary: dict[str, dict[str, dict[str, Any]]],
    *,
    classes: Sequence[str],
    command: str,
    date: str,
    comparisons: Mapping[str, Any] | None = None,
    reference: str | None = None,
    folds: Mapping[str, Any] | None = None,
) -> str:
    """``results.md``: :func:`summary_tables`, :func:`comparison_tables`, :func:`fold_tables`,
    failures, command, date, versions."""
    lines = ["# Benchmark results", ""]
    lines += [f"Command: `{command}`" if command else "", f"Date: {date}", ""]
    lines += [summary_tables(summary, classes=classes), ""]
    if comparisons:
        lines += [comparison_tables(comparisons, reference=reference or ""), ""]
    cross_validated = any(row.get("fold") is not None for b in summary.values() for g in b.values() for row in g["rows"])
    if cross_validated:
        lines += [fold_tables(summary, classes=[c for c in ("LE", "IT") if c in classes]), ""]
    if folds and not folds.get("agree", True):
        lines += ["## Fold assignments disagree", "",
                  "Jobs recorded different fold assignments (the data or cv_fold settings changed between "
                  "them); only jobs tested on the same images are paired.", ""]
        lines += [f"- {', '.join(a['jobs'])}: {a['assignment']}" for a in folds["assignments"]]
        lines.append("")
    elif folds and folds.get("assignment"):
        by_fold: dict[int, list[str]] = {}
        for group, k in sorted(folds["assignment"].items()):
            by_fold.setdefault(k, []).append(group)
        lines += ["Test folds (groups): " + "; ".join(f"{k}: {', '.join(g)}" for k, g in sorted(by_fold.items())), ""]
    problems = [
        (entry, backend, e)
        for entry, backends in summary.items()
        for backend, group in backends.items()
        for e in group["errors"]
    ]
    if problems:
        lines += ["## Not finished", ""]
        for entry, backend, e in problems:
            first, _, rest = (e["error"] or "").partition("\n")
            fold = "" if e.get("fold") is None else f" / fold {e['fold']}"
            lines.append(f"- **{entry}** / {backend} / seed {e['seed']}{fold}: {e['status']}: {first}")
            if rest.strip():
                lines += ["", "  ```", *[f"  {row}" for row in rest.splitlines()], "  ```", ""]
        lines.append("")
    lines += ["## Versions and machine", ""]
    seen: set[str] = set()
    for backends in summary.values():
        for backend, group in backends.items():
            if backend in seen or not group["versions"]:
                continue
            seen.add(backend)
            versions = ", ".join(f"{k} {v}" for k, v in group["versions"].items() if v)
            machine = ", ".join(f"{k} {v}" for k, v in group["machine"].items())
            lines.append(f"- {backend}: {versions}; {machine}")
    lines += [
        "",
        "Scores are pixel-level: with cross-validation on each job's test fold (never used to choose "
        "anything), else on the validation images of the one split every job shares; mean ± sample "
        "standard deviation over folds and seeds (n = finished jobs). Pixels marked unlabelled are "
        "left out of every score. Bold: the best mean of a column (when not tied). Training time, "
        "tiles/s and peak memory come from each training process's run.json (peak RSS of the whole process).",
        "",
    ]
    return "\n".join(lines)


def summary_tables(summary: dict[str, dict[str, dict[str, Any]]], *, classes: Sequence[str]) -> str:
    """Per backend: mean ± std of accuracy, macro F1, mIoU, per-class recall and F1, time, tiles/s,
    peak memory; then per-class precision and IoU."""
    backends: list[str] = []
    for by_backend in summary.values():
        backends.extend(b for b in by_backend if b not in backends)
    main_columns = [
        ("accuracy", "pixel acc."),
        ("macro_f1", "macro F1"),
        ("macro_f1_no_bg", "macro F1 w/o BG"),
        ("miou", "mIoU"),
        *[(f"{c}_{m}", f"{c} {'recall' if m == 'recall' else 'F1'}") for c in classes for m in ("recall", "f1")],
    ]
    extra_columns = [(f"{c}_{m}", f"{c} {label}") for c in classes for m, label in (("precision", "precision"), ("iou", "IoU"))]
    run_columns = [("train_seconds", "train s"), ("tiles_per_second", "tiles/s"), ("peak_rss_mb", "peak MB")]
    parts: list[str] = []
    for backend in backends:
        groups = {entry: by[backend] for entry, by in summary.items() if backend in by}
        parts += [f"## {backend}", ""]
        parts += _table(groups, main_columns, run_columns)
        if extra_columns:
            parts += ["", f"Per-class precision and IoU ({backend}):", ""]
            parts += _table(groups, extra_columns, [])
        pooled = {entry: {"n": len(g["pooled"]["folds"]), "metrics": g["pooled"]["metrics"]}
                  for entry, g in groups.items() if g.get("pooled", {}).get("metrics")}
        if pooled and any(len(g["pooled"]["folds"]) for g in groups.values()):
            parts += ["", f"Pooled pixels ({backend}): every scored pixel of a seed in one confusion matrix, "
                          "mean ± std over seeds (n = seeds):", ""]
            parts += _table(pooled, main_columns, [])
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def comparison_tables(comparisons: Mapping[str, Any], *, reference: str) -> str:
    """Per backend: each entry minus ``reference``, paired by seed and fold, with a verdict."""
    parts = [f"## Paired against {reference}", "",
             f"Mean paired difference (entry − {reference}, same seed and fold), 95 % bootstrap interval, "
             f"sign-flip p-value, pairs; a verdict needs the interval to exclude 0, p < 0.05 and at least "
             f"{MIN_PAIRS} pairs (see lggseg.benchmark.statistics).", ""]
    for backend, entries in comparisons.items():
        metrics = list(next(iter(entries.values()))) if entries else []
        parts += [f"### {backend}", "", "| entry | " + " | ".join(metrics) + " |",
                  "|---|" + "---|" * len(metrics)]
        for entry, by_metric in entries.items():
            parts.append(f"| {entry} | " + " | ".join(describe(by_metric[m]) for m in metrics) + " |")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def fold_tables(summary: Mapping[str, Any], *, classes: Sequence[str]) -> str:
    """Per backend: each job's recall and F1 of ``classes`` (LE, IT), by fold and seed."""
    parts = ["## Per fold", ""]
    for backend in dict.fromkeys(b for by in summary.values() for b in by):
        rows = [row for by in summary.values() for row in by.get(backend, {}).get("rows", []) if row["status"] == "finished"]
        if not rows:
            continue
        columns = [f"{c}_{m}" for c in classes for m in ("recall", "f1")]
        parts += [f"### {backend}", "", "| entry | seed | fold | macro F1 | " + " | ".join(c.replace("_", " ") for c in columns) + " |",
                  "|---|---:|---:|---:|" + "---:|" * len(columns)]
        for row in sorted(rows, key=lambda r: (r["fold"] if r["fold"] is not None else -1, r["seed"])):
            cells = [_format({"mean": row.get(c)}, digits=3) for c in ("macro_f1", *columns)]
            parts.append(f"| {row['entry']} | {row['seed']} | {row['fold']} | " + " | ".join(cells) + " |")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def _table(groups: dict[str, dict[str, Any]], score_columns, run_columns) -> list[str]:
    best = {}
    for name, _ in score_columns:
        means = [g["metrics"][name]["mean"] for g in groups.values() if g["metrics"].get(name, {}).get("mean") is not None]
        # Bold only a clear winner: a tie (e.g. every entry at 0 IT recall) marks nothing.
        if len(means) > 1 and means.count(max(means)) == 1:
            best[name] = max(means)
    header = ["entry", "n", *[label for _, label in score_columns], *[label for _, label in run_columns]]
    rows = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for entry, group in groups.items():
        cells = [entry, str(group["n"])]
        for name, _ in score_columns:
            stat = group["metrics"].get(name, {"mean": None, "std": None})
            cell = _format(stat, digits=3)
            if name in best and stat["mean"] is not None and stat["mean"] == best[name]:
                cell = f"**{cell}**"
            cells.append(cell)
        for name, _ in run_columns:
            digits = 1 if name == "tiles_per_second" else 0
            cells.append(_format(group["metrics"].get(name, {"mean": None, "std": None}), digits=digits))
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _format(stat: dict[str, Any], *, digits: int) -> str:
    if stat.get("mean") is None:
        return "–"
    text = f"{stat['mean']:.{digits}f}"
    if stat.get("std") is not None:
        text += f" ± {stat['std']:.{digits}f}"
    return text
