"""Split a thinking model's response at the end of its thinking, and tell finished from unfinished.

A thinking model writes a trace (``<think> … </think>``, deepthink's ``<start_deepthink> …
</end_deepthink>``, Sky-T1's ``<|begin_of_thought|> … <|end_of_thought|>``) and then its answer.
Only what follows the end of thinking is graded: a number inside the trace is a step, not a claim.
A trace that never ends (the token budget ran out, or the model stopped mid-thought) is an
unfinished response, which is wrong whatever the trace contains.
"""

from __future__ import annotations

from dataclasses import dataclass

from lm_eval_math500.grader.formats import THINKING_MARKERS

OPENINGS = tuple(opening for opening, _ in THINKING_MARKERS)
CLOSINGS = tuple(closing for _, closing in THINKING_MARKERS)


@dataclass(frozen=True)
class Thinking:
    """A response split at the end of its thinking.

    Attributes:
        answer_part: what follows the last end of thinking; the whole response when it has no
            thinking; ``""`` when the thinking never ended.
        thought: whether the response (or its prompt) opened a thinking block.
        finished: whether every thinking block the response opened was closed.
    """

    answer_part: str
    thought: bool
    finished: bool


def _last(text: str, markers: tuple[str, ...]) -> tuple[int, str]:
    """(position, marker) of the marker that occurs last in ``text``; (-1, "") when none does."""
    return max(((text.rfind(marker), marker) for marker in markers), key=lambda found: found[0])


def split_thinking(response: str, *, opened: bool = False) -> Thinking:
    """Split ``response`` at the end of its last thinking block.

    ``opened`` says the prompt itself opened a thinking block (a chat template or a template that
    ends in ``<think>``), so the response starts inside the trace without writing the tag. The
    answer follows the last end marker; a thinking block opened after it was never closed, and a
    response that starts inside the trace and never closes it is unfinished.
    """
    end, closing = _last(response, CLOSINGS)
    start, _ = _last(response, OPENINGS)
    if start > end:
        return Thinking("", thought=True, finished=False)
    if end >= 0:
        return Thinking(response[end + len(closing) :], thought=True, finished=True)
    if opened:
        return Thinking("", thought=True, finished=False)
    return Thinking(response, thought=False, finished=True)


def opens_thinking(prompt: str) -> bool:
    """Whether a prompt ends on an opening thinking marker (``…<|im_start|>assistant\\n<think>\\n``),
    so the response starts inside the trace."""
    return prompt.rstrip().endswith(OPENINGS)


def is_unfinished(thinking: Thinking, *, budget_reached: bool, answer_stated: bool, trace_dropped: bool) -> bool:
    """Whether a response never got to its answer, and so is wrong whatever it contains.

    That is a thinking block that never ended, or a response the token budget cut off before it
    stated an answer. ``trace_dropped`` says the backend removed the trace itself (lm-eval's
    ``think_end_token``) after a prompt that opened it: the text left then reaches the budget only
    when it is the whole trace, because the end of thinking never came.
    """
    if not thinking.finished:
        return True
    return budget_reached and (trace_dropped or not answer_stated)
