"""The tables of ``results.md``: per backend, mean ± std per entry, failures, versions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["markdown", "summary_tables"]


def markdown(summary: dict[str, dict[str, dict[str, Any]]], *, classes: Sequence[str], command: str, date: str) -> str:
    """``results.md``: the tables of :func:`summary_tables`, failures, command, date, versions."""
    lines = ["# Benchmark results", ""]
    lines += [f"Command: `{command}`" if command else "", f"Date: {date}", ""]
    lines += [summary_tables(summary, classes=classes), ""]
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
            lines.append(f"- **{entry}** / {backend} / seed {e['seed']}: {e['status']}: {first}")
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
        "Scores are pixel-level, on the validation images of the one split every job shares, "
        "as mean ± sample standard deviation over the training seeds (n = finished seeds). "
        "Bold: the best mean of a column (when not tied). Training time, tiles/s and peak memory come from "
        "each training process's run.json (peak RSS of the whole process).",
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
