"""Evaluation figures as matplotlib ``Figure`` objects (Agg canvas, no pyplot state).

Every function returns a figure; :func:`save_figure` writes it as PNG. No global
pyplot state is touched, so plotting is safe inside training loops and threads.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lggseg.atomic_write import atomic_write
from lggseg.classes import IGNORE_INDEX, ClassScheme
from lggseg.evaluation.overlay import IGNORE_COLOUR, overlay

__all__ = [
    "read_history",
    "training_curves",
    "confusion_matrix",
    "probability_histograms",
    "reliability_diagram",
    "overlays",
    "save_figure",
]

# History columns that are not curves.
_NON_CURVES = ("phase", "epoch", "step", "lr", "learning_rate", "time", "seconds")


def _figure(width: float, height: float):
    # Imported here so that `import lggseg.evaluation` does not load matplotlib.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: str | Path, *, dpi: int = 100) -> Path:
    """Write ``fig`` as PNG (creating the folder); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    return path


def read_history(history: str | Path | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``history.csv`` (or rows already read) -> rows with numbers parsed where possible."""
    if isinstance(history, (str, Path)):
        path = Path(history)
        try:
            with path.open(newline="") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as err:
            raise FileNotFoundError(f"Cannot read training history {path}: {err}") from err
    else:
        rows = [dict(r) for r in history]
    parsed = []
    for row in rows:
        out = {}
        for key, value in row.items():
            try:
                out[key] = float(value) if value not in ("", None) else None
            except (TypeError, ValueError):
                out[key] = value
        parsed.append(out)
    return parsed


def training_curves(history: str | Path | Sequence[Mapping[str, Any]]):
    """Loss and metric curves over all epochs, phases marked.

    Args:
      history: ``history.csv`` or its rows; columns ``phase``, ``epoch``, then any numeric
        columns (``loss``, ``val_loss``, ``val_macro_f1``, ...). Columns with ``loss`` in
        the name go to the first panel, ``share_*`` columns (sampled class shares) to the
        last, the other metrics between.
    """
    rows = read_history(history)
    if not rows:
        raise ValueError("The training history is empty: nothing to plot.")
    # Validation metrics may sit on some rows only (the last epoch of each phase).
    columns = [c for c in dict.fromkeys(k for r in rows for k in r) if c not in _NON_CURVES]
    numeric = [c for c in columns if any(isinstance(r.get(c), float) for r in rows)]
    losses = [c for c in numeric if "loss" in c]
    shares = [c for c in numeric if c.startswith("share_")]
    others = [c for c in numeric if "loss" not in c and c not in shares]
    panels = [(losses, "Loss"), (others, "Metrics")]
    if shares:
        # What the sampler fed the model, beside what it learned.
        panels.append((shares, "Sampled class shares"))
    x = np.arange(1, len(rows) + 1)
    fig = _figure(5.5 * len(panels), 4)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (cols, title) in zip(axes, panels):
        for c in cols:
            y = np.array([r.get(c) if isinstance(r.get(c), float) else np.nan for r in rows])
            ax.plot(x, y, marker="o", markersize=3, label=c, linestyle="--" if c.startswith("val_") else "-")
        ax.set_title(title)
        ax.set_xlabel("epoch (all phases)")
        if cols:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        _mark_phases(ax, rows)
    return fig


def _mark_phases(ax, rows: list[dict[str, Any]]) -> None:
    phases = [r.get("phase") for r in rows]
    if all(p is None for p in phases):
        return
    start = 0
    for i in range(1, len(phases) + 1):
        if i == len(phases) or phases[i] != phases[start]:
            label = phases[start]
            label = f"{int(label)}" if isinstance(label, float) and label.is_integer() else str(label)
            ax.axvline(start + 0.5, color="grey", linewidth=0.8, linestyle=":")
            ax.text(start + 0.6, 1.0, f"phase {label}", transform=ax.get_xaxis_transform(),
                    fontsize=7, va="top", color="grey")
            start = i


def confusion_matrix(metrics: Mapping[str, Any]):
    """Row-normalised confusion matrix (share of each true class), annotated with % and counts."""
    names = list(metrics["classes"])
    counts = np.asarray(metrics["confusion"], dtype=np.float64)
    rows = metrics["confusion_normalized"]
    k = len(names)
    share = np.array([r if r is not None else [np.nan] * k for r in rows], dtype=np.float64)
    fig = _figure(1.2 * k + 2.5, 1.1 * k + 1.5)
    ax = fig.subplots()
    image = ax.imshow(np.nan_to_num(share, nan=0.0), cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(k):
        for j in range(k):
            if np.isnan(share[i, j]):
                text, colour = "absent", "grey"
            else:
                text = f"{100 * share[i, j]:.1f}%\n{int(counts[i, j])}"
                colour = "white" if share[i, j] > 0.5 else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("Confusion (rows sum to 100 %)")
    fig.colorbar(image, ax=ax, fraction=0.046)
    return fig


def probability_histograms(metrics: Mapping[str, Any]):
    """Per true class, the distribution of the probability the model gives that class."""
    hist = metrics["histograms"]
    edges = np.asarray(hist["bin_edges"])
    names = [*metrics["classes"], "all"]
    cols = min(len(names), 3)
    rows = int(np.ceil(len(names) / cols))
    fig = _figure(4 * cols, 2.8 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, name in zip(axes, names):
        counts = np.asarray(hist[name], dtype=np.float64)
        total = counts.sum()
        ax.bar(edges[:-1], counts / total if total else counts, width=np.diff(edges), align="edge",
               color="tab:blue" if name != "all" else "tab:grey", edgecolor="white", linewidth=0.5)
        for t in (0.3, 0.5):
            ax.axvline(t, color="tab:red", linestyle="--", linewidth=0.8)
        stats = metrics["probability"][name]
        if stats["mean"] is None:
            ax.set_title(f"{name}: absent from the data", fontsize=9)
        else:
            ax.set_title(f"{name}: mean {stats['mean']:.2f}, max {stats['max']:.2f}, "
                         f">0.5 {100 * stats['frac_above_0.5']:.1f}%", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_xlabel("p(true class)", fontsize=8)
        ax.set_ylabel("share of pixels", fontsize=8)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    return fig


def reliability_diagram(metrics: Mapping[str, Any]):
    """Accuracy against confidence of the argmax per bin, with the ECE in the title."""
    cal = metrics["calibration"]
    edges = np.asarray(cal["bin_edges"])
    centres = (edges[:-1] + edges[1:]) / 2
    acc = np.array([np.nan if a is None else a for a in cal["accuracy"]])
    fig = _figure(4.5, 4.2)
    ax = fig.subplots()
    ax.bar(centres, np.nan_to_num(acc), width=np.diff(edges), edgecolor="white", label="accuracy")
    ax.plot([0, 1], [0, 1], color="tab:red", linestyle="--", linewidth=1, label="perfect calibration")
    ece = metrics.get("ece")
    ax.set_title("Reliability" + (f" (ECE {ece:.3f})" if ece is not None else ""))
    ax.set_xlabel("confidence (max probability)")
    ax.set_ylabel("accuracy of the argmax")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def overlays(examples: Sequence[Any], *, scheme: ClassScheme, alpha: float = 0.45, max_side: int = 400):
    """Per example: the image, the true mask over it and the predicted mask over it.

    Args:
      examples: objects with ``name``, ``image``, ``mask``, ``prediction`` (e.g.
        :class:`~lggseg.evaluation.evaluate.Example`).
      scheme: the class colours.
      alpha: opacity of the class colours.
      max_side: images are shrunk to at most this many pixels a side first (the panels
        are about that size; full-resolution H&E texture would make the PNG megabytes).
    """
    if not examples:
        raise ValueError("No examples to draw.")
    n = len(examples)
    fig = _figure(10, 3.4 * n + 0.6)
    axes = np.atleast_2d(fig.subplots(n, 3))
    for row, ex in zip(axes, examples):
        image, mask, prediction = _shrink(ex.image, ex.mask, ex.prediction, max_side=max_side)
        panels = (
            (image, f"{ex.name}"),
            (overlay(image, mask, scheme=scheme, alpha=alpha), "true"),
            (overlay(image, prediction, scheme=scheme, alpha=alpha), "predicted"),
        )
        for ax, (img, title) in zip(row, panels):
            ax.imshow(img)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=np.asarray(c) / 255, edgecolor="black", label=code)
               for code, c in zip(scheme.codes, scheme.colours)]
    if any((np.asarray(ex.mask) == IGNORE_INDEX).any() for ex in examples):
        handles.append(Patch(facecolor="white", edgecolor=np.asarray(IGNORE_COLOUR) / 255, hatch="////",
                             label="unlabelled"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8)
    return fig


def _shrink(image: np.ndarray, mask: np.ndarray, prediction: np.ndarray, *, max_side: int):
    step = int(np.ceil(max(image.shape[:2]) / max_side))
    if step <= 1:
        return image, mask, prediction
    import cv2

    size = (int(np.ceil(image.shape[1] / step)), int(np.ceil(image.shape[0] / step)))
    # Area averaging for the image; masks keep class indices, so they are subsampled.
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small, mask[::step, ::step][: size[1], : size[0]], prediction[::step, ::step][: size[1], : size[0]]
