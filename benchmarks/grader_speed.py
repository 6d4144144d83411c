"""Time per verdict on the graderbench rows: our grader against Math-Verify 0.9, in one run.

Each grader gets the same inputs as in grader_accuracy.py; ours runs with its default limit
(TIME_LIMIT, 1 s), Math-Verify with its default (SIGALRM, 5 s). Our child process is started before
timing (its start-up is a one-off cost), and our parse caches are cleared so that no row is
timed from a warm cache.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from grader_accuracy import DEFAULT_DATA, FILES, load_rows, math_verify, ours

from lm_eval_math500 import is_equivalent
from lm_eval_math500.grader.equivalence import TIME_LIMIT
from lm_eval_math500.grader.latex import _canonical
from lm_eval_math500.grader.parser import parse

OVERHEAD = 0.05  # allowance for returning after the limit: killing the child, scheduling


def timings(rows: list[dict], grader) -> list[float]:
    """Seconds per verdict, one row at a time."""
    out = []
    for row in rows:
        start = time.perf_counter()
        grader(row)
        out.append(time.perf_counter() - start)
    return out


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    rows = [r for name in FILES for r in load_rows(args.data, name)]
    is_equivalent("\\mathbb{R}", "\\mathbb{Z}")  # start the child process outside the timing
    parse.cache_clear()
    _canonical.cache_clear()
    ours_t = timings(rows, ours)
    mv_t = timings(rows, math_verify)
    print(f"{len(rows)} verdicts per grader\n")
    print(f"| grader | median ms | p99 ms | max ms | at the {TIME_LIMIT:.0f} s limit | over limit + {OVERHEAD * 1e3:.0f} ms |")
    print("|---|---|---|---|---|---|")
    for name, t in (("ours", ours_t), ("math-verify", mv_t)):
        at_limit = sum(x >= TIME_LIMIT for x in t)
        over = sum(x > TIME_LIMIT + OVERHEAD for x in t)
        print(f"| {name} | {statistics.median(t) * 1e3:.3f} | {quantile(t, 0.99) * 1e3:.2f} | "
              f"{max(t) * 1e3:.1f} | {at_limit} | {over} |")
    ratio = statistics.median(mv_t) / statistics.median(ours_t)
    print(f"\nmedian speed-up over Math-Verify: {ratio:.1f}x")


if __name__ == "__main__":
    main()
