"""Grade one model response against a gold answer: extraction, format and equivalence together."""

from __future__ import annotations

from dataclasses import replace

from lm_eval_math500.grader.equivalence import TIME_LIMIT, Verdict, grade_answer
from lm_eval_math500.grader.extraction import analyse
from lm_eval_math500.grader.formats import FormatMode, VariantChoice
from lm_eval_math500.grader.inputs import answer_text


def grade(
    response: str,
    gold: str,
    *,
    variant: VariantChoice = "auto",
    problem: str | None = None,
    format_mode: FormatMode = "tags",
    timeout: float = TIME_LIMIT,
) -> Verdict:
    r"""Grade a whole model response: extract its final answer, check its format, compare with `gold`.

    The decision order:

    1. The final answer is extracted under `variant` (``r1_zero``: the last ``<answer>`` tag;
       ``deepthink``: the last ``<SOLUTION>`` tag; ``question_only``: the final group of
       ``\boxed{}``, else a stated "final answer is", else the concluding value, read with
       `problem` in hand (see :mod:`prose`); ``boxed``: as question_only; ``auto``: the
       variant whose tags the response uses). A response that commits to no answer, or hedges
       between different ones, or gives its result up at the end ("that doesn't make sense, let
       me try again"), is wrong (``no final answer``).
    2. The output format of `variant` is checked (`format_mode` ``tags`` or ``cs336``) and
       reported in ``format_ok``; it does not change ``correct``.
    3. The extracted answer is compared with `gold` in the order `is_equivalent` states,
       including the forms `problem` asks for.

    Args:
        response: the model's whole output; None (no output) is wrong, a number is read as its text.
        gold: the reference answer; a number is read as its text, and None raises TypeError.
        variant: the prompt variant whose output format to read: ``auto``, ``r1_zero``,
            ``deepthink``, ``question_only`` or ``boxed``.
        problem: the problem text; when given, a prose answer is read with it in hand and the
            forms it asks for are enforced.
        format_mode: ``tags`` (whitespace-tolerant tags) or ``cs336`` (literal tag strings).
        timeout: the most CPU seconds the verdict's symbolic checks may use in their worker
            process (waiting and machine load are not counted; see
            :mod:`lm_eval_math500.grader.worker`); a comparison cut off there is wrong and flagged
            ``timed_out``. Reading the response takes a few milliseconds besides.

    Returns:
        A `Verdict`: ``correct``, the ``reason`` that decided, the graded ``pred``, ``format_ok``
        and ``timed_out``.

    Raises:
        ValueError: for an unknown `variant` or `format_mode` (the message lists the allowed ones).
        TypeError: for an argument that is neither text nor a number (None as `gold`), naming it.

    Examples:
        >>> v = grade(r"so the answer is $\boxed{\frac{1}{2}}$", "0.5", variant="question_only")
        >>> v.correct, v.pred, v.format_ok, v.reason
        (True, '\\frac{1}{2}', True, 'numeric value equal')
        >>> grade("</think> <answer>7</answer>", "7", variant="r1_zero").reason
        'same string'
        >>> grade("I am not sure.", "7", variant="r1_zero").reason
        'no final answer'
    """
    gold = answer_text(gold, "gold", none_allowed=False)  # before reading a response it cannot grade
    pred, format_ok = analyse(response, variant, format_mode, problem)
    return replace(grade_answer(pred, gold, problem=problem, timeout=timeout), format_ok=format_ok)
