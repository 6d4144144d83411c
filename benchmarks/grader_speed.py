"""Time per verdict on the graderbench rows: our grader against Math-Verify 0.9, in one run.

Each grader gets the same inputs as in grader_accuracy.py; ours runs with its default limit
(TIME_LIMIT, 1 s of a symbolic check's own CPU time), Math-Verify with its default (SIGALRM, 5 s).
Our symbolic helper process is started (and waited for) before timing, but no verdict is given
before timing, so the first symbolic call is timed like every other; our parse caches are cleared
so that no row is timed from a warm cache.

Then the same rows are graded again by 8 threads at once, each verdict timed in its thread, and
every verdict is set against the one-at-a-time pass: the limit counts only a check's own work, so
none may differ; and checks that never finish are timed while those threads grade. Last,
pathological responses of up to 64 kB (the part of a response the grader
reads) are timed, with the calling thread's CPU time beside the wall time.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader_accuracy import DEFAULT_DATA, FILES, load_rows, math_verify, ours

from lm_eval_math500 import Verdict, grade, grade_answer
from lm_eval_math500.grader.equivalence import TIME_LIMIT
from lm_eval_math500.grader.latex import _canonical
from lm_eval_math500.grader.parser import parse
from lm_eval_math500.grader.worker import POOL

OVERHEAD = 0.05  # allowance for returning after the limit: ending the worker, scheduling
THREADS = 8
# A symbolic check Math-Verify never finishes (it multiplies out 10^6!); calculus on both sides.
HANGS, HANGS_GOLD = "\\prod_{k=1}^{10^6} k", "\\prod_{k=2}^{10^6} k"
MANY_BOXES_FILE = "qwen25_math_7b_base__math500__qwen25mathcot_greedy_max32768__skythought.jsonl"


def timed(rows: list[dict], grader: Callable[[dict], object]) -> tuple[list[float], list[object]]:
    """Seconds per verdict and the verdicts, one row at a time."""
    times, verdicts = [], []
    for row in rows:
        start = time.perf_counter()
        verdicts.append(grader(row))
        times.append(time.perf_counter() - start)
    return times, verdicts


def timed_in_threads(rows: list[dict]) -> tuple[list[float], list[Verdict]]:
    """Seconds per verdict and the verdicts, with `THREADS` threads grading at once."""

    def one(row: dict) -> tuple[float, Verdict]:
        start = time.perf_counter()
        verdict = ours(row)
        return time.perf_counter() - start, verdict

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(one, rows))
    return [t for t, _ in results], [v for _, v in results]


def hung_beside_busy_threads(rows: list[dict], count: int = 5) -> list[float]:
    """Seconds for each of `count` checks that never finish (cut off at the limit), graded one after
    another while `THREADS` threads keep grading the graderbench rows."""
    stop = threading.Event()

    def keep_grading() -> None:
        while not stop.is_set():
            for row in rows[:200]:
                ours(row)

    busy = [threading.Thread(target=keep_grading) for _ in range(THREADS)]
    for thread in busy:
        thread.start()
    try:
        times, _ = timed([{}] * count, lambda _: grade_answer(HANGS, HANGS_GOLD))
    finally:
        stop.set()
        for thread in busy:
            thread.join()
    return times


def fresh_process_first_symbolic() -> float:
    """Seconds the first symbolic verdict of a new interpreter takes when nothing started the helper."""
    code = (
        "import time\nfrom lm_eval_math500 import grade_answer\nstart = time.perf_counter()\n"
        "assert grade_answer('\\\\sum_{k=1}^{3} k', '\\\\sum_{k=0}^{3} k').correct\n"
        "print(time.perf_counter() - start)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(name: str, t: list[float]) -> str:
    at_limit = sum(x >= TIME_LIMIT for x in t)
    over = sum(x > TIME_LIMIT + OVERHEAD for x in t)
    return (f"| {name} | {statistics.median(t) * 1e3:.3f} | {quantile(t, 0.99) * 1e3:.2f} | {max(t) * 1e3:.1f} | "
            f"{at_limit} | {over} |")


def repeated(unit: Callable[[int], str], size: int = 65536) -> str:
    parts, length, i = [], 0, 0
    while length < size:
        parts.append(unit(i))
        length, i = length + len(parts[-1]), i + 1
    return "".join(parts)[:size]


def pathological(data: Path) -> dict[str, tuple[str, str]]:
    """Name -> (response, gold): long responses of repeated units, and the published response
    with 580 boxes (read beside `data`, the graderbench folder)."""
    cases = {
        "6,000 different boxes": (" ".join(f"\\boxed{{{i}}}" for i in range(6000)), "7"),
        "800 boxed fractions": (" ".join(f"\\boxed{{\\frac{{{i}}}{{{i + 1}}}}}" for i in range(800)), "7"),
        "64 kB of labelled boxes": (repeated(lambda i: f"$a_{{{i}}} = \\boxed{{{i}}}$, "), "7"),
        "64 kB of `$` pairs": (repeated(lambda i: f"${i}$ and "), "7"),
        "64 kB of unclosed `$`": (repeated(lambda i: f"$x{i} "), "7"),
        "64 kB of nested braces": (repeated(lambda i: "{") + "7", "7"),
        "64 kB of unclosed boxes": (repeated(lambda i: "\\boxed{"), "7"),
        "64 kB of sentences": (repeated(lambda i: f"So we get {i}. "), "7"),
        "64 kB of stated answers": (repeated(lambda i: f"The answer is {i}.\n"), "7"),
        "64 kB of retractions": (repeated(lambda i: f"= {i} wait, that doesn't make sense. "), "7"),
    }
    path = data.parent / "published_runs" / MANY_BOXES_FILE
    if path.is_file():
        for line in path.open(encoding="utf-8"):
            sample = json.loads(line)
            if sample["code"][0].count("\\boxed") == 580:
                cases["published response, 580 boxes"] = (sample["code"][0], sample["gt"])
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    rows = [r for name in FILES for r in load_rows(args.data, name)]
    POOL.start()  # the helper's start-up is charged to no verdict; no verdict is given before timing
    parse.cache_clear()
    _canonical.cache_clear()
    ours_t, ours_v = timed(rows, ours)
    mv_t, _ = timed(rows, math_verify)
    parse.cache_clear()
    _canonical.cache_clear()
    threads_t, threads_v = timed_in_threads(rows)
    differ = sum(a != b for a, b in zip(ours_v, threads_v))
    print(f"{len(rows)} verdicts per grader\n")
    print(f"| grader | median ms | p99 ms | max ms | at the {TIME_LIMIT:.0f} s limit | over limit + {OVERHEAD * 1e3:.0f} ms |")
    print("|---|---|---|---|---|---|")
    print(row("ours, first call included", ours_t))
    print(row(f"ours, {THREADS} threads at once", threads_t))
    print(row("math-verify", mv_t))
    print(f"\nmedian speed-up over Math-Verify: {statistics.median(mv_t) / statistics.median(ours_t):.1f}x")
    first_symbolic = next(t for t, v in zip(ours_t, ours_v) if v.reason.startswith("symbolic check"))
    print(f"first verdict: {ours_t[0] * 1e3:.1f} ms; first symbolic verdict: {first_symbolic * 1e3:.1f} ms; "
          f"verdicts that differ between one at a time and {THREADS} threads: {differ} of {len(rows)}")
    print(f"first symbolic verdict of a fresh process that did not start the helper first: "
          f"{fresh_process_first_symbolic() * 1e3:.0f} ms (start-up included, not counted against its limit)")
    hung = hung_beside_busy_threads(rows)
    print(f"checks cut off at the limit while {THREADS} threads grade: "
          + ", ".join(f"{t * 1e3:.0f}" for t in hung) + f" ms ({sum(t > TIME_LIMIT + OVERHEAD for t in hung)} "
          f"over the limit + {OVERHEAD * 1e3:.0f} ms)")
    print("\n| response | kB | wall ms | CPU ms in the calling thread | verdict |")
    print("|---|---|---|---|---|")
    for name, (response, gold) in pathological(args.data).items():
        gc.disable()
        start, start_cpu = time.perf_counter(), time.thread_time()
        verdict = grade(response, gold, variant="question_only")
        wall, cpu = time.perf_counter() - start, time.thread_time() - start_cpu
        gc.enable()
        print(f"| {name} | {len(response) / 1024:.0f} | {wall * 1e3:.1f} | {cpu * 1e3:.1f} | {verdict.reason} |")


if __name__ == "__main__":
    main()
