"""grade(): extraction, format and equivalence together, and the hard time limit."""

from __future__ import annotations

import doctest
import threading
import time

import pytest

import lm_eval_math500
from lm_eval_math500 import Verdict, grade
from lm_eval_math500.grader import equivalence, grading
from lm_eval_math500.grader.worker import backstop

# Math-Verify / sympy cannot finish this comparison in a second (it multiplies out 10^6!): the
# worker process is killed.
HANGS = "\\prod_{k=1}^{10^6} k"
HANGS_GOLD = "\\prod_{k=2}^{10^6} k"  # calculus on both sides, so only the symbolic check can decide


@pytest.mark.parametrize("response,gold,variant,expected", [
    ("</think> <answer>\\frac12</answer>", "0.5", "r1_zero",
     Verdict(correct=True, reason="numeric value equal", pred="\\frac12", format_ok=True)),
    ("no tags \\boxed{2}", "2", "r1_zero",
     Verdict(correct=False, reason="no final answer", pred=None, format_ok=False)),
    ("</end_deepthink><SOLUTION>x = 4", "4", "deepthink",
     Verdict(correct=True, reason="numeric value equal", pred="x = 4", format_ok=True)),
    ("so it is 7 apples", "7", "question_only",
     Verdict(correct=True, reason="same string", pred="7", format_ok=False)),
])
def test_verdict_fields_for_each_variant(response, gold, variant, expected):
    assert grade(response, gold, variant=variant) == expected


def test_unknown_variant_or_mode_raises_value_error():
    with pytest.raises(ValueError, match="r1_zero, deepthink, question_only, boxed"):
        grade("x", "1", variant="chat")
    with pytest.raises(ValueError, match="tags"):
        grade("x", "1", format_mode="loose")


def test_timeout_is_a_flagged_wrong_answer_after_the_checks_own_cpu_time_and_the_next_call_works():
    """The check is cut off when its worker has used `timeout` CPU seconds: not before (a wall
    clock is never shorter than the CPU time it holds), and well before the wall-clock backstop."""
    grade("\\boxed{\\mathbb{R}}", "\\mathbb{Z}")  # start the worker processes outside the timing
    start = time.monotonic()
    v = grade(f"\\boxed{{{HANGS}}}", HANGS_GOLD, timeout=0.3)
    assert 0.3 <= time.monotonic() - start < backstop(0.3)
    assert v == Verdict(correct=False, reason="timed out in the symbolic check", pred=HANGS, format_ok=True,
                        timed_out=True)
    assert grade("\\boxed{\\sum_{k=1}^{3} k}", "\\sum_{k=0}^{3} k").correct


def test_time_limit_holds_outside_the_main_thread():
    results: list[Verdict] = []
    worker = threading.Thread(target=lambda: results.append(
        grade(f"\\boxed{{{HANGS}}}", HANGS_GOLD, timeout=0.3)))
    worker.start()
    worker.join(backstop(0.3))
    assert results and results[0].timed_out


def test_model_written_code_is_never_run(tmp_path):
    marker = tmp_path / "ran"
    code = f"__import__('os').system('touch {marker}')"
    assert not grade(f"\\boxed{{{code}}}", "0").correct
    assert not grade(f"The answer is {code}", "0").correct
    assert not marker.exists()


@pytest.mark.parametrize("module", [equivalence, grading])
def test_docstring_examples_hold(module):
    """The examples in the public docstrings (the decision order's illustrations) are doctests."""
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3 and result.failed == 0


@pytest.mark.parametrize("function", [lm_eval_math500.is_equivalent, lm_eval_math500.grade])
def test_help_states_the_decision_order_arguments_and_result(function):
    doc = function.__doc__
    assert "decision order" in doc and all(f"\n    {part}\n" in doc for part in ("Args:", "Returns:", "Examples:"))
