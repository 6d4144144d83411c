"""Grade one model response against a gold answer: extraction, format and equivalence together."""

from __future__ import annotations

from dataclasses import dataclass

from lm_eval_math500.grader.equivalence import compare
from lm_eval_math500.grader.extraction import analyse
from lm_eval_math500.grader.formats import FormatMode, VariantChoice


@dataclass(frozen=True)
class Verdict:
    """The grade of one response; a timeout counts as a wrong answer and is flagged."""

    correct: bool
    format_ok: bool
    pred: str | None
    timed_out: bool


def grade(
    response: str,
    gold: str,
    *,
    variant: VariantChoice = "auto",
    problem: str | None = None,
    format_mode: FormatMode = "tags",
    timeout: float = 1.0,
) -> Verdict:
    """Extract the final answer under `variant`, check the format and compare with `gold`.
    Returns within `timeout` seconds (plus a few ms); a comparison cut off there is wrong and flagged."""
    pred, format_ok = analyse(response, variant, format_mode)
    if pred is None:
        return Verdict(correct=False, format_ok=format_ok, pred=None, timed_out=False)
    outcome = compare(pred, gold, problem=problem, timeout=timeout)
    return Verdict(correct=outcome.equal, format_ok=format_ok, pred=pred, timed_out=outcome.timed_out)
