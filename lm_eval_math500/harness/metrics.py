"""Per-sample metrics: every verdict comes from :mod:`lm_eval_math500.grader.equivalence`.

``process_results`` grades the records the extraction filter made and completes each with its
verdict, so the samples file lm-eval writes holds the whole record. A verdict that hits the
grader's time limit is a wrong answer, and ``grader_timeouts`` counts it. An unfinished response
(thinking never ended, or cut off by the token budget before an answer) is wrong too, and
``unfinished`` counts it; ``budget_reached`` counts responses that used the budget up, and is left
out where the budget is unknown (replayed generations).
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean
from typing import Any

from lm_eval_math500.grader.equivalence import Verdict, grade_answer
from lm_eval_math500.harness.records import Record
from lm_eval_math500.harness.sampling import sampling_scores


def _records(results: Sequence[Any]) -> list[Record]:
    """The filter's records for one doc, one per repeat (lm-eval 0.4 nests them in one list)."""
    (filtered,) = results
    return filtered if isinstance(filtered, list) else [filtered]


def doc_verdict(answer: str | None, doc: dict[str, Any]) -> Verdict:
    """The verdict on one extracted answer against the doc's gold, given the problem text."""
    return grade_answer(answer, doc["answer"], problem=doc["problem"])


def grade_records(records: Sequence[Record], doc: dict[str, Any]) -> None:
    """Complete each record with the verdict on its answer (each distinct answer graded once)."""
    verdicts: dict[str | None, Verdict] = {}
    for record in records:
        if record.answer not in verdicts:
            verdicts[record.answer] = doc_verdict(record.answer, doc)
        record.complete(verdicts[record.answer])


def scores(records: Sequence[Record]) -> dict[str, float]:
    """The metrics of one doc from its graded records, averaged over the repeats (avg@n); with
    several repeats also ``pass@k`` and ``maj@k`` (:mod:`lm_eval_math500.harness.sampling`); where the
    filter's verdict is ``answer_reward``, CS336's triple ``format_reward``, ``answer_reward``, ``reward``."""
    result = {
        "accuracy": fmean(r.correct for r in records),
        "format_ok": fmean(r.format_ok for r in records),
        "grader_timeouts": fmean(r.timed_out for r in records),
        "unfinished": fmean(r.unfinished for r in records),
    }
    if all(r.max_gen_toks is not None for r in records):
        result["budget_reached"] = fmean(r.budget_reached for r in records)
    result |= sampling_scores([r.answer for r in records], [bool(r.correct) for r in records])
    if records[0].counts_format:
        rewarded = fmean(r.verdict for r in records)
        result |= {"format_reward": result["format_ok"], "answer_reward": rewarded, "reward": rewarded}
    return result


def process_results(doc: dict[str, Any], results: list[Any]) -> dict[str, float]:
    """Grade the doc's records (completing them) and return its metrics (see :func:`scores`)."""
    records = _records(results)
    grade_records(records, doc)
    return scores(records)


def process_results_r1_zero(doc: dict[str, Any], results: list[Any]) -> dict[str, float]:
    """Deprecated: the former name of :func:`process_results` for r1_zero tasks, which counts the
    answer only in the filter's format whatever the filter says."""
    records = _records(results)
    for record in records:
        record.counts_format = True
    return process_results(doc, [records])
