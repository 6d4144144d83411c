"""Form requirements stated in a problem ("common fraction", "simplest radical form", ...)."""

from __future__ import annotations


def form_ok(pred: str, gold: str, problem: str) -> bool:
    """Whether `pred` has the form `problem` asks for (its value is already known to be right)."""
    return True
