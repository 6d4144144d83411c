"""Work a report runs in a forked child process: its result, its exception, its death."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from lm_eval_math500.analysis.background import in_background

forks = pytest.mark.skipif(sys.platform != "linux" or (os.cpu_count() or 1) < 2, reason="runs in process here")


def _pid_and_sum(values: list[int]) -> tuple[int, int]:
    return os.getpid(), sum(values)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@forks
def test_the_work_runs_in_another_process_and_its_result_comes_back():
    pid, total = in_background(_pid_and_sum, list(range(100_000))).result()
    assert total == sum(range(100_000)) and pid != os.getpid()


def test_an_exception_of_the_work_is_raised_by_result():
    pending = in_background(int, "not a number")
    with pytest.raises(ValueError, match="not a number"):
        pending.result()


@forks
def test_a_child_that_dies_is_an_error_naming_how():
    with pytest.raises(RuntimeError, match=r"running _die ended \(signal 9\) before it finished"):
        in_background(_die).result()
