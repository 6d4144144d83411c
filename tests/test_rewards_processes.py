"""The rewards where trainers compute them: in threads, in multiprocessing and concurrent.futures
workers (daemonic ones included; a spawned executor worker stands in for a Ray worker), in forked
children; the same rewards everywhere, and no process left behind when the process that rewards
is killed."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable

import psutil
import pytest

from lm_eval_math500.rewards import compute_score, grade_batch, math_reward
from process_kinds import KINDS, run_in

# Each test starts processes that run the symbolic checks to their limit: seconds each.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rewards_processes")]

# Math-Verify cannot finish this comparison within the limit (it multiplies out 10^6!).
HANGS_GOLD = "\\prod_{k=2}^{10^6} k"
# Completions of the r1_zero prompt and their golds: an answer decided in process, one decided by
# the symbolic check in a worker process, one whose check is cut off at its limit, a wrong format.
COMPLETIONS = [
    " 3 + 4 </think> <answer>7</answer>",
    " a sum </think> <answer>\\sum_{k=1}^{3} k</answer>",
    " p minus q </think> <answer>p - q</answer>",
    " 3 + 4 </think><answer>7</answer>",
]
GOLDS = ["7", "\\sum_{k=0}^{3} k", HANGS_GOLD, "7"]
EXPECTED = [1.0, 1.0, 0.0, 0.0]
REWARD = math_reward(problem_column=None)


def rewarded(reward: Callable[..., list] = REWARD) -> tuple[list, list, list]:
    """What each kind of process computes: TRL's rewards, grade_batch's verdicts and verl's scores
    (all but the check that runs to its limit, which the other two make)."""
    verdicts = grade_batch(COMPLETIONS, GOLDS)
    scores = [compute_score("math", c, g)["score"] for c, g in zip(COMPLETIONS, GOLDS) if g != HANGS_GOLD]
    return reward(COMPLETIONS, solution=GOLDS), [(v.correct, v.reason, v.timed_out) for v in verdicts], scores


@pytest.fixture(scope="module")
def in_process() -> tuple[list, list, list]:
    found = rewarded()
    assert found[0] == EXPECTED and found[2] == [1.0, 1.0, 0.0]
    assert found[1][1] == (True, "symbolic check (Math-Verify): equal", False)
    assert found[1][2] == (False, "timed out in the symbolic check", True)
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_the_rewards_are_the_same_in_every_kind_of_process(in_process, kind):
    # The reward function itself goes to the process pools pickled, as Ray hands it to its workers;
    # a forked child inherits the grader workers the fixture started.
    assert run_in(kind, rewarded, REWARD) == in_process


# A process that rewards batches in a daemonic pool, each with a check that runs to its limit.
REWARDS_IN_A_POOL = textwrap.dedent(
    f"""
    import multiprocessing
    from lm_eval_math500.rewards import math_reward

    reward = math_reward(problem_column=None)
    batch = ([" p minus q </think> <answer>p - q</answer>"], [{HANGS_GOLD!r}])

    def reward_batch(_):
        return reward(batch[0], solution=batch[1])

    if __name__ == "__main__":
        with multiprocessing.get_context("fork").Pool(2) as pool:
            print("ready", flush=True)
            while True:
                pool.map(reward_batch, range(2))
    """
)


def alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def grader_process(proc: psutil.Process | None) -> bool:
    """A grader helper or worker: a forked copy of the helper interpreter, which runs ``serve_helper``."""
    try:
        return proc is not None and "serve_helper" in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def busy_grader_worker(proc: psutil.Process) -> bool:
    """A worker (forked by a helper) that has spent a while on a check."""
    try:
        return grader_process(proc) and grader_process(proc.parent()) and proc.cpu_times().user > 0.2
    except psutil.Error:
        return False


def kill_mid_check(command: list[str], ready: str, startup: float) -> tuple[int, int, list[psutil.Process]]:
    """Run ``command``, wait for it to print ``ready`` and for a grader worker below it to be busy
    with a check, and SIGKILL it: how many descendants it had then, how many of them were grader
    processes, and those still alive a while later."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + startup
        while proc.stdout.readline().strip() != ready:
            assert time.monotonic() < deadline and proc.poll() is None, "the process never got ready"
        parent = psutil.Process(proc.pid)
        while True:  # until a grader worker below it is busy with a check
            descendants = parent.children(recursive=True)
            if any(busy_grader_worker(p) for p in descendants):
                break
            assert time.monotonic() < deadline + 60, "no check ever started in a grader worker"
            time.sleep(0.05)
        graders = sum(map(grader_process, descendants))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        # A pool worker busy with a verdict ends it (within the limit) before it sees its parent gone.
        leftover = descendants
        end = time.monotonic() + 20
        while leftover and time.monotonic() < end:
            time.sleep(0.2)
            leftover = [p for p in leftover if alive(p)]
        return len(descendants), graders, leftover
    finally:
        proc.kill()
        proc.wait()


def test_no_process_outlives_a_rewarding_process_killed_mid_check():
    """SIGKILL to a process whose daemonic pool workers are rewarding: the pool workers, their grader
    helpers and the helpers' workers all end."""
    descendants, graders, leftover = kill_mid_check([sys.executable, "-c", REWARDS_IN_A_POOL], "ready", startup=60)
    # Two pool workers, each with a grader helper, and at least one worker of a helper.
    assert descendants >= 5 and graders >= 3
    assert [(p.pid, p.cmdline()) for p in leftover] == []
