"""The same verdicts under any load and in any kind of process, and no worker outlives its grader.

The symbolic time limit counts only the check's own CPU time (see `lm_eval_math500.grader.worker`),
so neither threads grading alongside nor checks that hang beside it change a verdict.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from conftest import SHARED_DATA
from process_kinds import KINDS, run_in
from lm_eval_math500 import Verdict, grade, grade_answer

# The module's fixtures grade the reference verdicts once, on one xdist worker.
pytestmark = pytest.mark.xdist_group("grading_concurrency")

GRADERBENCH = SHARED_DATA / "graderbench"
# Math-Verify / sympy cannot finish this comparison in a second (it multiplies out 10^6!).
HANGS = "\\prod_{k=1}^{10^6} k"
HANGS_GOLD = "\\prod_{k=2}^{10^6} k"  # calculus on both sides, so only the symbolic check can decide


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


# Pairs outside the in-process parser, so they are decided in the worker processes.
SYMBOLIC = [
    *[(f"\\sum_{{k=1}}^{{{n}}} k", f"\\sum_{{k=0}}^{{{n}}} k") for n in range(2, 12)],
    *[(f"\\int_0^{{{n}}} 2x\\,dx", f"\\int_0^{{{n}}} 2t\\,dt") for n in range(2, 12)],
    *[(f"\\sum_{{k=1}}^{{{n}}} k^2", f"\\sum_{{k=1}}^{{{n}}} k") for n in range(2, 12)],
]


def compare_symbolic(pair: tuple[str, str]) -> Verdict:
    return grade_answer(*pair)


def hung_verdict() -> Verdict:
    return grade_answer(HANGS, HANGS_GOLD, timeout=0.3)


@pytest.fixture(scope="module")
def pairs_and_verdicts() -> tuple[list[tuple[str, str, str]], list[Verdict]]:
    pairs = load_pairs()
    assert len(pairs) == 500
    return pairs, [grade_pair(p) for p in pairs]


@pytest.fixture(scope="module")
def symbolic_verdicts() -> list[Verdict]:
    verdicts = [compare_symbolic(p) for p in SYMBOLIC]
    assert any(v.correct for v in verdicts) and not all(v.correct for v in verdicts)
    assert all(v.reason.startswith("symbolic check") for v in verdicts)
    return verdicts


class HungChecks:
    """Threads that keep checks running which never finish, beside whatever the test grades."""

    def __init__(self, threads: int) -> None:
        self.stop = threading.Event()
        self.timed_out: list[bool] = []
        self.threads = [threading.Thread(target=self._loop) for _ in range(threads)]

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.timed_out.append(grade_answer(HANGS, HANGS_GOLD).timed_out)  # at the default limit

    def __enter__(self) -> HungChecks:
        for thread in self.threads:
            thread.start()
        time.sleep(0.2)  # the hung checks are under way before the graded ones start
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        assert all(self.timed_out) and len(self.timed_out) >= len(self.threads)


def test_reference_run_is_meaningful(pairs_and_verdicts):
    _, verdicts = pairs_and_verdicts
    assert 150 < sum(v.correct for v in verdicts) < 400
    assert not any(v.timed_out for v in verdicts)


@pytest.mark.parametrize("threads,hung", [(1, 0), (16, 0), (16, 4)])
def test_graderbench_verdicts_do_not_depend_on_threads_or_hung_checks(pairs_and_verdicts, threads, hung):
    pairs, expected = pairs_and_verdicts
    with HungChecks(hung), ThreadPoolExecutor(max_workers=threads) as pool:
        assert list(pool.map(grade_pair, pairs)) == expected


@pytest.mark.slow
@pytest.mark.parametrize("threads,hung", [(1, 0), (16, 0), (1, 4), (16, 4)])
def test_symbolic_verdicts_do_not_depend_on_threads_or_hung_checks(symbolic_verdicts, threads, hung):
    with HungChecks(hung), ThreadPoolExecutor(max_workers=threads) as pool:
        assert list(pool.map(compare_symbolic, SYMBOLIC)) == symbolic_verdicts


def symbolic_and_hung() -> tuple[list[Verdict], Verdict]:
    """What each kind of process grades: the symbolic pairs, and a check cut off at its limit."""
    return [compare_symbolic(p) for p in SYMBOLIC[::5]], hung_verdict()


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_grading_works_with_its_limit_in_every_kind_of_process(symbolic_verdicts, kind):
    compare_symbolic(SYMBOLIC[0])  # this process has graded, so a forked child inherits its workers
    verdicts, hung = run_in(kind, symbolic_and_hung)
    assert [v.correct for v in verdicts] == [v.correct for v in symbolic_verdicts[::5]]
    assert hung.timed_out


@pytest.mark.slow
def test_the_limit_counts_cpu_time_not_the_wait_for_a_worker():
    """Sixteen quick checks started at once beside four hung ones: each is decided, none is cut
    off for waiting while the others ran."""
    with HungChecks(4), ThreadPoolExecutor(max_workers=16) as pool:
        verdicts = list(pool.map(lambda p: grade_answer(*p, timeout=0.2), SYMBOLIC[:16]))
    assert not any(v.timed_out for v in verdicts)


CHECK_FOREVER = (
    "from lm_eval_math500 import grade_answer\n"
    "assert grade_answer('\\\\sum_{k=1}^{2} k', '\\\\sum_{k=0}^{2} k').correct\n"
    "print('ready', flush=True)\n"
    f"grade_answer({HANGS!r}, {HANGS_GOLD!r}, timeout=600)\n"
)


def alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_no_worker_outlives_a_grader_killed_mid_check(sig):
    grader = subprocess.Popen([sys.executable, "-c", CHECK_FOREVER], stdout=subprocess.PIPE, text=True)
    try:
        assert grader.stdout.readline().strip() == "ready"
        parent = psutil.Process(grader.pid)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the worker is busy with the check
            descendants = parent.children(recursive=True)
            if len(descendants) >= 2 and max(p.cpu_times().user for p in descendants[1:]) > 0.2:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the check never started in a worker")
        grader.send_signal(sig)
        grader.wait(10)
        time.sleep(2)
        assert [p.pid for p in descendants if alive(p)] == []
    finally:
        grader.kill()
        grader.wait()


def test_first_symbolic_call_of_a_fresh_process_is_decided():
    """The helper's start-up is charged to no check: the very first comparison is decided."""
    code = ("from lm_eval_math500 import grade; v = grade('so \\\\boxed{\\\\sum_{k=1}^{3} k}', '\\\\sum_{k=0}^{3} k'); "
            "print(v.correct, v.timed_out)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.split() == ["True", "False"], done.stderr[-2000:]


def test_the_task_filter_starts_the_symbolic_helper_before_any_verdict():
    """The harness filters every response before it grades one: the helper starts there, so its
    start-up overlaps the extraction."""
    code = (
        "from lm_eval_math500.grader.worker import POOL\n"
        "from lm_eval_math500.harness.filters import ExtractAnswer\n"
        "before = POOL.helper is not None\n"
        "ExtractAnswer(variant='question_only').apply([['so 7']], [{'problem': 'p', 'answer': '7'}])\n"
        "print(before, POOL.helper is not None and POOL.helper.poll() is None)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.split() == ["False", "True"], done.stderr[-2000:]
