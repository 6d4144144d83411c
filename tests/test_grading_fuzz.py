"""Property tests: generated and mutated LaTeX never raises, and no response of any length or shape
costs the calling process more than a small constant on top of the symbolic checks' own limit.

Time is the calling thread's CPU time (`time.thread_time`), which machine load does not stretch;
the symbolic checks run in worker processes under their own CPU limit (`grader.worker`)."""

from __future__ import annotations

import functools
import gc
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SHARED_DATA
from lm_eval_math500 import Verdict, grade, is_equivalent
from lm_eval_math500.grader.formats import VARIANT_CHOICES
from lm_eval_math500.grader.worker import backstop

GRADERBENCH = SHARED_DATA / "graderbench"
TIMEOUT = 0.5
SLACK = 0.25  # the most CPU seconds a verdict may spend in the calling process
EXAMPLES = 2000  # per test; three tests throw 6,000 generated strings at the grader
EXTREME_EXAMPLES = 1000  # the deep, long and huge ones: a few times dearer each
LONG_EXAMPLES = 300

PIECES = [
    "\\frac", "\\dfrac", "\\sqrt", "\\sqrt[3]", "\\boxed", "\\fbox", "{", "}", "{", "}", "(", ")", "[",
    "]", "\\{", "\\}", "\\left(", "\\right)", "^", "_", "+", "-", "*", "/", "=", ",", ".", "!", "|",
    "\\pi", "\\infty", "\\pm", "\\le", "\\ge", "\\cdot", "\\times", "\\div", "\\cup", "\\in", "x", "y",
    "i", "e", "a", "Q", "0", "1", "2", "3", "9", "12", "1,000", "0.5", "\\overline{3}", "\\sin",
    "\\cos", "\\log_", "\\ln", "\\binom", "\\text{", "\\text{ cm}", "\\mathbb{R}", "\\sum_{k=1}^{n}",
    "\\int", "\\begin{pmatrix}", "\\end{pmatrix}", "&", "\\\\", "$", "\\$", "\\%", "^\\circ", "\\!",
    "{,}", "**", "\x00", "\x07", "\x1b[31m", "\n", "\t", " ", "\u2212", "\u221e", "\U0001f600",
    "<answer>", "</answer>", "</think>", "<SOLUTION>", "</SOLUTION>", "</end_deepthink>",
    "#### ", "The answer is ", "Answer: ", "Wait, ", "__import__('os').system('echo hacked')",
    "eval(", "lambda: 0", "9^{9^{9^{9}}}", "2003^{2002^{2001}}", "10^{10^{10}}", "100!", "1e308",
    "\\frac{1}{0}", "0^{-1}", "\\sqrt{-1}", "x_{1}", "11_2", "(1,2]", "\\begin{cases}", "\\end{cases}",
]
latex = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=40).map("".join)


@pytest.fixture(scope="module")
def graderbench(shared_data):
    """For the tests that draw real golds: without graderbench they skip (fail under CI), as the data tests do."""


@functools.cache
def golds() -> list[str]:
    """The distinct gold answers of graderbench's PRM800K file, read when a test first draws one."""
    return sorted({json.loads(line)["gold_answer"] for line in (GRADERBENCH / "prm800k_labelled.jsonl").open()})


GOLDS = st.deferred(lambda: st.sampled_from(golds()))


@st.composite
def mutated_gold(draw) -> str:
    """A real gold answer with random insertions, deletions and duplicated slices."""
    text = draw(GOLDS)
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "repeat"]))
        if op == "insert":
            text = text[:pos] + draw(st.sampled_from(PIECES)) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 5)):]
        else:
            text = text[:pos] + text[pos:pos + 20] * draw(st.integers(2, 50)) + text[pos:]
    return text


@st.composite
def extreme(draw) -> str:
    """Deep nesting, power towers and answers of up to 100 kB."""
    n = draw(st.integers(1, 3000))
    kind = draw(st.sampled_from(["braces", "frac", "sqrt", "parens", "tower", "huge", "unbalanced"]))
    if kind == "braces":
        return "{" * n + "1" + "}" * n
    if kind == "frac":
        return "\\frac{1}{" * n + "2" + "}" * n
    if kind == "sqrt":
        return "\\sqrt{" * n + "2" + "}" * n
    if kind == "parens":
        return "(" * n + "x" + ")" * n
    if kind == "tower":
        return "9^{" * min(n, 200) + "9" + "}" * min(n, 200)
    if kind == "huge":
        piece = draw(latex) or "1+"
        return (piece * (100_000 // len(piece) + 1))[:100_000]
    return "\\boxed{" * n + draw(latex)


def check_call(fn, *args, **kwargs):
    """Call and assert the bounds: at most `SLACK` CPU seconds in this thread, and the wall-clock
    time within the symbolic checks' backstop; any exception fails the test by propagating.

    The cyclic garbage collector is paused during the timed call: a full collection of the
    objects Hypothesis piles up between examples takes up to 0.6 s here, and that pause is the
    test framework's, not the grader's."""
    gc.disable()
    try:
        start, start_cpu = time.monotonic(), time.thread_time()
        result = fn(*args, timeout=TIMEOUT, **kwargs)
        cpu, elapsed = time.thread_time() - start_cpu, time.monotonic() - start
    finally:
        gc.enable()
    assert cpu < SLACK, f"{cpu:.2f} CPU s for {args[0][:80]!r}"
    assert elapsed < backstop(TIMEOUT), f"{elapsed:.2f}s for {args[0][:80]!r}"
    return result


def check_both(pred: str, gold: str) -> None:
    v = check_call(grade, pred, gold)
    assert isinstance(v, Verdict) and isinstance(v.correct, bool) and isinstance(v.format_ok, bool)
    assert isinstance(v.reason, str) and v.reason
    assert v.pred is None or isinstance(v.pred, str)
    assert check_call(is_equivalent, pred, gold) in (True, False)


@pytest.fixture(scope="module", autouse=True)
def warm_child_processes():
    """Start the symbolic worker processes before timing anything (a one-off start-up cost)."""
    is_equivalent("\\mathbb{R}", "\\mathbb{Z}")


FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@pytest.mark.slow
@pytest.mark.usefixtures("graderbench")
@FUZZ
@given(pred=latex, gold=GOLDS)
def test_generated_latex_against_real_golds(pred, gold):
    check_both(pred, gold)


@pytest.mark.slow
@pytest.mark.usefixtures("graderbench")
@FUZZ
@given(pred=mutated_gold(), gold=GOLDS, variant=st.sampled_from(VARIANT_CHOICES))
def test_mutated_golds_in_every_variant(pred, gold, variant):
    v = check_call(grade, pred, gold, variant=variant)
    assert isinstance(v, Verdict)
    assert check_call(is_equivalent, gold, pred) in (True, False)


@pytest.mark.slow
@FUZZ
@given(pred=latex, gold=latex)
def test_generated_latex_on_both_sides(pred, gold):
    check_both(pred, gold)


@pytest.mark.slow
@pytest.mark.usefixtures("graderbench")
@settings(max_examples=EXTREME_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(pred=extreme() | latex, gold=extreme() | mutated_gold())
def test_extreme_sizes_and_nesting(pred, gold):
    check_both(pred, gold)


# Units a long response repeats; `{i}` is the repetition's number, so boxes and values differ.
UNITS = [
    "\\boxed{{i}} ", "\\boxed {i} ", "$a_{{i}} = \\boxed{{i}}$, ", "Wait, \\boxed{{i}}. ",
    "\\boxed{\\frac{{i}}{7}} ", "${i}$ ", "$x{i}$ and ", "$$", "$", "\\[ x = {i} \\] ", "\\( {i} \\) ",
    "**{i}** ", "So we get {i}. ", "The answer is {i}.\n", "Answer: {i} ", "({i}, 2) ", "{i}/7 ",
    "twenty five ", "{", "}", "\\boxed{", "\\frac{", "(", ")", "abcdefghij", "{i}+", "-", "= {i} ",
    "\\approx {i} ", "Check: {i} * 2 = 8. ", "x = {i} is not a solution. ", "\\begin{pmatrix} ", "\\",
    "1,000,", "\n", "\n\n", "Priya and Omar ", "(A) ", "</think>", "<answer>", "**Answer:** ", "#### ",
]
PROBLEM = "Priya and Omar ran. Who ran farther? (A) 4 (B) 5. Express your answer as a common fraction."


@st.composite
def long_response(draw) -> str:
    """One to three units repeated to up to 70,000 characters, with an optional ending."""
    units = draw(st.lists(st.sampled_from(UNITS), min_size=1, max_size=3))
    size = draw(st.integers(1_000, 70_000))
    parts, length, i = [], 0, 0
    while length < size:
        part = "".join(units).replace("{i}", str(i))
        parts.append(part)
        length, i = length + len(part), i + 1
    return "".join(parts)[:size] + draw(st.sampled_from(["", " so the answer is 7.", "\\boxed{7}", " and then"]))


@settings(max_examples=LONG_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(response=long_response(), variant=st.sampled_from(VARIANT_CHOICES))
def test_long_responses_of_repeated_units_stay_within_the_bound(response, variant):
    v = check_call(grade, response, "7", variant=variant, problem=PROBLEM)
    assert isinstance(v, Verdict)


def test_known_traps_give_verdicts_in_time():
    for pred in ("9^{9^{9^{9}}}", "2003^{2002^{2001}}", "10^{10^{10^{10}}}", "(10^{100})!",
                 "__import__('os').system('echo hacked')", "\\frac{1}{0}", "0^{-1}", "x" * 100_000):
        v = check_call(grade, f"\\boxed{{{pred}}}", "1")
        assert not v.correct
