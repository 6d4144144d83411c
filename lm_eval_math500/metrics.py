"""Per-sample metrics: every verdict comes from :func:`lm_eval_math500.is_equivalent`."""

from __future__ import annotations

from statistics import fmean
from typing import Any

from lm_eval_math500.equivalence import is_equivalent
from lm_eval_math500.filters import Extraction


def _samples(results: list[Any]) -> list[Extraction]:
    """The extraction filter's outputs for one doc: one per repeat."""
    (filtered,) = results
    return filtered if isinstance(filtered, list) else [filtered]


def is_correct(answer: str | None, doc: dict[str, Any]) -> bool:
    """The verdict on one extracted answer against the doc's gold, given the problem text."""
    return bool(answer) and is_equivalent(answer, doc["answer"], problem=doc["problem"])


def process_results(doc: dict[str, Any], results: list[Any]) -> dict[str, float]:
    """``accuracy`` and ``format_ok``, averaged over the repeats of one problem (mean@k)."""
    samples = _samples(results)
    return {
        "accuracy": fmean(is_correct(s.answer, doc) for s in samples),
        "format_ok": fmean(s.format_ok for s in samples),
    }


def process_results_r1_zero(doc: dict[str, Any], results: list[Any]) -> dict[str, float]:
    """Adds the CS336 reward triple: the answer counts only when the format holds."""
    samples = _samples(results)
    correct = [is_correct(s.answer, doc) for s in samples]
    rewarded = [c and s.format_ok for c, s in zip(correct, samples, strict=True)]
    return {
        "accuracy": fmean(correct),
        "format_ok": fmean(s.format_ok for s in samples),
        "format_reward": fmean(s.format_ok for s in samples),
        "answer_reward": fmean(rewarded),
        "reward": fmean(rewarded),
    }
