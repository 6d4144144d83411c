"""The same 500 graderbench pairs graded single-threaded, in 8 threads and in 2 processes agree."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from conftest import SHARED_DATA
from lm_eval_math500 import Verdict, grade

GRADERBENCH = SHARED_DATA / "graderbench"


def load_pairs() -> list[tuple[str, str, str]]:
    """(response, gold, problem) for 250 rows of each graderbench file, spread over the file."""
    pairs = []
    for name in ("prm800k_labelled.jsonl", "processbench_labelled.jsonl"):
        path = GRADERBENCH / name
        if not path.is_file():
            pytest.fail(f"graderbench data missing: {path}", pytrace=False)
        rows = [json.loads(line) for line in path.open()]
        step = len(rows) // 250
        pairs += [(r["model_solution"], r["gold_answer"], r["problem"]) for r in rows[::step][:250]]
    return pairs


def grade_pair(pair: tuple[str, str, str]) -> Verdict:
    response, gold, problem = pair
    return grade(response, gold, variant="question_only", problem=problem)


@pytest.fixture(scope="module")
def pairs_and_verdicts() -> tuple[list[tuple[str, str, str]], list[Verdict]]:
    pairs = load_pairs()
    assert len(pairs) == 500
    return pairs, [grade_pair(p) for p in pairs]


def test_reference_run_is_meaningful(pairs_and_verdicts):
    _, verdicts = pairs_and_verdicts
    assert 150 < sum(v.correct for v in verdicts) < 400
    assert not any(v.timed_out for v in verdicts)


def test_thread_pool_gives_the_single_threaded_verdicts(pairs_and_verdicts):
    pairs, expected = pairs_and_verdicts
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(grade_pair, pairs)) == expected


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_process_pool_gives_the_single_threaded_verdicts(pairs_and_verdicts, start_method):
    pairs, expected = pairs_and_verdicts
    context = multiprocessing.get_context(start_method)
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        assert list(pool.map(grade_pair, pairs, chunksize=25)) == expected


# Pairs outside the in-process parser, so they are decided in the worker processes.
SYMBOLIC = [
    (f"\\sum_{{k=1}}^{{{n}}} k", str(n * (n + 1) // 2)) for n in range(2, 12)
] + [
    (f"\\int_0^{{{n}}} 2x\\,dx", str(n * n)) for n in range(2, 12)
] + [
    (f"\\sum_{{k=1}}^{{{n}}} k^2", str(n * (n + 1) // 2)) for n in range(2, 12)
]


def compare_symbolic(pair: tuple[str, str]) -> Verdict:
    return grade(f"so \\boxed{{{pair[0]}}}", pair[1], variant="question_only")


def test_child_process_verdicts_are_the_same_in_threads():
    expected = [compare_symbolic(p) for p in SYMBOLIC]
    assert sum(v.correct for v in expected) >= len(SYMBOLIC) // 2
    for _ in range(3):
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(compare_symbolic, SYMBOLIC)) == expected


def test_child_process_verdicts_are_the_same_in_a_process_pool():
    expected = [compare_symbolic(p) for p in SYMBOLIC]
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
        assert list(pool.map(compare_symbolic, SYMBOLIC, chunksize=5)) == expected


def test_first_symbolic_call_of_a_fresh_process_is_decided_within_the_limit():
    """The workers' start-up is charged to no call, and the fork server's warm-up lets the very
    first comparison finish inside the 1 s limit instead of being cut off."""
    response = "so \\boxed{\\int_0^{3} 2x\\,dx}"
    code = f"from lm_eval_math500 import grade; v = grade({response!r}, '9'); print(v.correct, v.timed_out)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.split() == ["True", "False"], done.stderr[-2000:]


def test_the_task_filter_starts_the_symbolic_workers_before_any_verdict():
    """The harness filters every response before it grades one: the workers start there, so no
    verdict's time limit includes their start-up."""
    code = (
        "from lm_eval_math500.grader.worker import POOL\n"
        "from lm_eval_math500.harness.filters import ExtractAnswer\n"
        "before = POOL.pool is not None\n"
        "ExtractAnswer(variant='question_only').apply([['so 7']], [{'problem': 'p', 'answer': '7'}])\n"
        "print(before, POOL.pool is not None and POOL.pool.active)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.split() == ["False", "True"], done.stderr[-2000:]
