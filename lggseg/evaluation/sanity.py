"""Checks of a model's predictions that a finished run must not keep quiet about."""

from __future__ import annotations

from typing import Any

__all__ = ["prediction_collapse"]


def prediction_collapse(metrics: dict[str, Any], *, share: float = 0.99) -> str | None:
    """A warning when the model predicts one class for nearly every pixel while the truth has several.

    A learning rate far too high, or a loss that rewards the majority class, ends there; the
    run "finishes" all the same, so the trainer says it aloud.
    """
    per_class = metrics.get("per_class", {})
    predicted = {c: s.get("predicted") or 0 for c, s in per_class.items()}
    present = [c for c, s in per_class.items() if (s.get("support") or 0) > 0]
    total = sum(predicted.values())
    if total == 0 or len(present) < 2:
        return None
    top = max(predicted, key=predicted.get)
    if predicted[top] / total < share:
        return None
    return (
        f"the model predicts {top} for {predicted[top] / total:.1%} of the validation pixels although "
        f"{len(present)} classes are present: it has collapsed to one class (a learning rate far too "
        f"high, or a loss that rewards the majority class?)"
    )

