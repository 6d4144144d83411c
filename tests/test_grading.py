"""grade(): extraction, format and equivalence together, and the hard time limit."""

from __future__ import annotations

import threading
import time

import pytest

from lm_eval_math500 import Verdict, grade

# Math-Verify / sympy cannot finish this comparison in a second (it multiplies out 10^6!): the
# worker process is killed.
HANGS = "\\prod_{k=1}^{10^6} k"


def test_verdict_fields_for_each_variant():
    assert grade("</think> <answer>\\frac12</answer>", "0.5", variant="r1_zero") == Verdict(
        correct=True, format_ok=True, pred="\\frac12", timed_out=False)
    assert grade("no tags \\boxed{2}", "2", variant="r1_zero") == Verdict(
        correct=False, format_ok=False, pred=None, timed_out=False)
    v = grade("</end_deepthink><SOLUTION>x = 4", "4", variant="deepthink")
    assert v.correct and v.format_ok
    v = grade("so it is 7 apples", "7", variant="question_only")
    assert v.correct and not v.format_ok


def test_unknown_variant_or_mode_raises_value_error():
    with pytest.raises(ValueError, match="r1_zero"):
        grade("x", "1", variant="boxed")
    with pytest.raises(ValueError, match="tags"):
        grade("x", "1", format_mode="loose")


def test_timeout_is_a_flagged_wrong_answer_within_the_limit_and_the_next_call_works():
    grade("\\boxed{\\mathbb{R}}", "\\mathbb{Z}")  # start the worker processes outside the timing
    start = time.monotonic()
    v = grade(f"\\boxed{{{HANGS}}}", "1", timeout=0.3)
    assert time.monotonic() - start < 0.6
    assert v == Verdict(correct=False, format_ok=True, pred=HANGS, timed_out=True)
    assert grade("\\boxed{\\sum_{k=1}^{3} k}", "6").correct


def test_time_limit_holds_outside_the_main_thread():
    results: list[Verdict] = []
    worker = threading.Thread(target=lambda: results.append(
        grade(f"\\boxed{{{HANGS}}}", "1", timeout=0.3)))
    start = time.monotonic()
    worker.start()
    worker.join(5)
    assert time.monotonic() - start < 1.0
    assert results and results[0].timed_out


def test_model_written_code_is_never_run(tmp_path):
    marker = tmp_path / "ran"
    code = f"__import__('os').system('touch {marker}')"
    assert not grade(f"\\boxed{{{code}}}", "0").correct
    assert not grade(f"The answer is {code}", "0").correct
    assert not marker.exists()
