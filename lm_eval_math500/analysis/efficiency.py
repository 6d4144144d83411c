"""Reasoning efficiency of responses, after EvalScope's think-efficiency metrics, without a judge model.

Per response:

- reasoning tokens: the tokens before the end of thinking (``</think>``, ``<|end_of_thought|>``,
  ``</end_deepthink>``), or of the whole response when it has no such marker;
- first-correct tokens: the tokens up to the end of the first paragraph (text between blank lines)
  that commits to an answer (a box or a stated answer) which the grader accepts, at most the
  reasoning tokens (all of them when no paragraph before the end qualifies); 0 when the task's
  verdict counts the response wrong;
- reflection tokens: reasoning tokens minus first-correct tokens (all of them when wrong);
- token efficiency: first-correct / reasoning tokens (0 when wrong);
- thought switches: how often the reasoning uses a phrase that starts another line of thought
  (:data:`SWITCH_PHRASES`).

Tables give the mean per response, by MATH level and for responses the verdict counts right and wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from statistics import fmean

from tqdm import tqdm

from lm_eval_math500.analysis.samples import Problem
from lm_eval_math500.analysis.tokens import TokenCounter
from lm_eval_math500.grader.equivalence import grade_answer
from lm_eval_math500.grader.extraction import analyse

THINK_ENDS = ("</think>", "<|end_of_thought|>", "</end_deepthink>")
SWITCH_PHRASES = (
    "wait",
    "alternatively",
    "let me reconsider",
    "on second thought",
    "let me re-check",
    "let me recheck",
    "let me double-check",
    "another approach",
    "hmm",
)
_PARAGRAPH_END = re.compile(r"\n\s*\n")
# What makes a paragraph commit to an answer for the extractor: a box or a stated-answer phrase.
_COMMITS = re.compile(r"\\boxed|\\fbox|final\s+answer|answer\s+is|answer\s*:|####", re.IGNORECASE)


@dataclass(frozen=True)
class Efficiency:
    """The efficiency measures of one response (token counts by the report's counter)."""

    correct: bool  # the task's verdict
    level: int | None
    reasoning_tokens: int
    first_correct_tokens: int
    reflection_tokens: int
    token_efficiency: float
    thought_switches: int


MEASURES = tuple(f.name for f in fields(Efficiency) if f.name not in ("correct", "level"))


def reasoning_part(text: str) -> str:
    """The text before the first end-of-thinking marker, or all of it."""
    ends = [at for at in (text.find(marker) for marker in THINK_ENDS) if at >= 0]
    return text[: min(ends)] if ends else text


def thought_switches(text: str) -> int:
    """How many times ``text`` uses a thought-switching phrase (case-insensitive substring counts)."""
    lowered = text.lower()
    return sum(lowered.count(phrase) for phrase in SWITCH_PHRASES)


def first_correct_end(text: str, doc: dict) -> int | None:
    """Where the first paragraph whose committed answer the grader accepts ends, or None."""
    start = 0
    for boundary in [*(m.end() for m in _PARAGRAPH_END.finditer(text)), len(text)]:
        paragraph = text[start:boundary]
        start = boundary
        if not _COMMITS.search(paragraph):
            continue  # no box and no answer phrase: nothing committed, skip the extraction
        answer, committed = analyse(paragraph, "question_only")
        if committed and answer and grade_answer(answer, doc["answer"], problem=doc.get("problem")).correct:
            return boundary
    return None


def measure(
    problems: Sequence[Problem], counter: TokenCounter, response_tokens: Sequence[Sequence[int]]
) -> list[Efficiency]:
    """The measures of every response of ``problems``; ``response_tokens`` are the whole responses'
    counts (per problem), reused where the reasoning is the whole response."""
    out = []
    for problem, whole in tqdm(
        zip(problems, response_tokens, strict=True), total=len(problems), desc="Reasoning efficiency", unit="problem", leave=False,
        disable=None,  # a progress bar only on a terminal
    ):
        reasoning = [reasoning_part(r.text) for r in problem.responses]
        prefixes = []
        for response in problem.responses:
            end = first_correct_end(response.text, dict(problem.doc)) if response.verdict else None
            prefixes.append(response.text[:end] if end is not None else None)
        partial = [part for part, r in zip(reasoning, problem.responses) if len(part) < len(r.text)]
        counted = iter(counter.count(partial + [p for p in prefixes if p is not None]))
        totals = [next(counted) if len(part) < len(r.text) else n for part, r, n in zip(reasoning, problem.responses, whole)]
        prefix_counts = counted
        for response, part, prefix, total in zip(
            problem.responses, reasoning, prefixes, totals, strict=True
        ):
            if not response.verdict:
                first = 0
            elif prefix is None:
                first = total  # right, but committed to only after the reasoning: all of it was needed
            else:
                first = min(next(prefix_counts), total)
            out.append(
                Efficiency(
                    correct=response.verdict,
                    level=problem.level,
                    reasoning_tokens=total,
                    first_correct_tokens=first,
                    reflection_tokens=total - first,
                    token_efficiency=first / total if total else 0.0,
                    thought_switches=thought_switches(part),
                )
            )
    return out


def table(rows: Iterable[Efficiency]) -> dict[str, float]:
    """Mean of every measure over ``rows`` and how many responses they are."""
    rows = list(rows)
    if not rows:
        return {"count": 0}
    return {"count": len(rows), **{name: fmean(getattr(r, name) for r in rows) for name in MEASURES}}


def efficiency_tables(rows: Sequence[Efficiency]) -> dict[str, dict[str, dict[str, float]]]:
    """``{"overall": {"all": ...}, "answer": {"right", "wrong"}, "level": {"1": ..., ...}}``."""
    levels = sorted({r.level for r in rows if r.level is not None})
    return {
        "overall": {"all": table(rows)},
        "answer": {"right": table(r for r in rows if r.correct), "wrong": table(r for r in rows if not r.correct)},
        "level": {str(level): table(r for r in rows if r.level == level) for level in levels},
    }
