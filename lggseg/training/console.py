"""What training says to the person running it: one line on stderr, and the same in the log."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

log = logging.getLogger("lggseg.train")


def say(message: str) -> None:
    """Print ``message`` on stderr (rich, no highlighting) and log it at INFO."""
    from lggseg.progress import stderr_console

    stderr_console().print(message, highlight=False)
    log.info(message)


def scores_line(metrics: Mapping[str, Any], codes: Sequence[str]) -> str:
    """``accuracy 0.640, macro F1 0.410, BG recall ...``: a ``metrics.json`` in one console line."""

    def fmt(v):
        return "n/a" if v is None else f"{v:.3f}"

    parts = [f"accuracy {fmt(metrics.get('accuracy'))}", f"macro F1 {fmt(metrics.get('macro_f1'))}"]
    for code in codes:
        parts.append(f"{code} recall {fmt(metrics['per_class'].get(code, {}).get('recall'))}")
    return ", ".join(parts)
