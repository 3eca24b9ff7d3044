"""``f1_per_class.png``: per-class F1 of every benchmark entry, a panel per backend."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["plot_f1"]


def plot_f1(summary: dict[str, dict[str, dict[str, Any]]], *, classes: Sequence[str], path: Path) -> Path:
    """Grouped bars of per-class F1 (mean over seeds, std as error bars) per entry, a panel per backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    backends: list[str] = []
    for by_backend in summary.values():
        backends.extend(b for b in by_backend if b not in backends)
    backends = backends or ["(none)"]
    entries = list(summary)
    fig = Figure(figsize=(max(5.0, 1.4 * len(entries) + 2.0), 3.4 * len(backends)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(backends), 1, squeeze=False)[:, 0]
    width = 0.8 / max(1, len(classes))
    for ax, backend in zip(axes, backends):
        for k, code in enumerate(classes):
            means, errors = [], []
            for entry in entries:
                stat = summary[entry].get(backend, {}).get("metrics", {}).get(f"{code}_f1", {})
                means.append(stat.get("mean") if stat.get("mean") is not None else math.nan)
                errors.append(stat.get("std"))
            xs = [i - 0.4 + width * (k + 0.5) for i in range(len(entries))]
            # Error bars only where there is a spread to show (two seeds or more).
            yerr = [e or 0.0 for e in errors] if any(e is not None for e in errors) else None
            ax.bar(xs, means, width=width, yerr=yerr, capsize=2, label=code, color=f"C{k}")
        ax.set_xticks(range(len(entries)))
        ax.set_xticklabels(entries, rotation=20, ha="right")
        ax.set_ylim(0, 1)
        ax.set_ylabel("F1")
        ax.set_title(f"per-class F1 ({backend})")
        ax.grid(axis="y", alpha=0.3)
        if classes and ax is axes[0]:
            ax.legend(title="class", fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.savefig(path, dpi=100)
    return Path(path)
