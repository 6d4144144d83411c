"""Per-sample metrics: every verdict comes from :mod:`lm_eval_math500.grader.equivalence`.

A verdict that hits the grader's time limit is a wrong answer, and ``grader_timeouts`` counts it.
An unfinished response (thinking never ended, or cut off by the token budget before an answer) is
wrong too, and ``unfinished`` counts it; ``budget_reached`` counts responses that used the budget up.
"""

from __future__ import annotations

from statistics import fmean
from typing import Any

from lm_eval_math500.grader.equivalence import Verdict, grade_answer
from lm_eval_math500.harness.filters import Extraction
from lm_eval_math500.harness.sampling import sampling_scores


def _samples(results: list[Any]) -> list[Extraction]:
    """The extraction filter's outputs for one doc: one per repeat."""
    (filtered,) = results
    return filtered if isinstance(filtered, list) else [filtered]


def doc_verdict(answer: str | None, doc: dict[str, Any]) -> Verdict:
    """The verdict on one extracted answer against the doc's gold, given the problem text."""
    return grade_answer(answer, doc["answer"], problem=doc["problem"])


def _graded(doc: dict[str, Any], results: list[Any]) -> tuple[list[Extraction], list[Verdict]]:
    samples = _samples(results)
    return samples, [doc_verdict(s.answer, doc) for s in samples]


def _scores(samples: list[Extraction], verdicts: list[Verdict]) -> dict[str, float]:
    return {
        "accuracy": fmean(v.correct for v in verdicts),
        "format_ok": fmean(s.format_ok for s in samples),
        "grader_timeouts": fmean(v.timed_out for v in verdicts),
        "unfinished": fmean(s.unfinished for s in samples),
        "budget_reached": fmean(s.budget_reached for s in samples),
        **sampling_scores([s.answer for s in samples], [v.correct for v in verdicts]),
    }


def process_results(doc: dict[str, Any], results: list[Any]) -> dict[str, float]:
    """``accuracy``, ``format_ok``, ``grader_timeouts``, ``unfinished`` and ``budget_reached``,
    averaged over the repeats (avg@n); with several repeats also ``pass@k`` and ``maj@k``
    (:mod:`lm_eval_math500.harness.sampling`)."""
    return _scores(*_graded(doc, results))


def process_results_r1_zero(doc: dict[str, Any], results: list[Any]) -> dict[str, float]:
    """Adds the CS336 reward triple: the answer counts only when the format holds."""
    samples, verdicts = _graded(doc, results)
    scores = _scores(samples, verdicts)
    rewarded = fmean(v.correct and s.format_ok for v, s in zip(verdicts, samples, strict=True))
    return {**scores, "format_reward": scores["format_ok"], "answer_reward": rewarded, "reward": rewarded}
