"""The symbolic worker side by side: the fork server + pebble pool against subprocess workers
limited by their own CPU time.

Both answer the same Math-Verify comparisons through the same ``POOL.run(payload, timeout)`` call.
The pebble pool is read from git at ``--old-rev`` (the last commit that had it; it needs pebble
installed); the subprocess workers are this checkout's ``lm_eval_math500.grader.worker``. Each is
measured in a fresh interpreter, in alternating order over ``--rounds`` rounds, and the table shows
the median over the rounds. Besides speed it counts the quick checks cut off while two checks that
never finish run beside them in 8 threads: a limit that counts waiting for a worker cuts them off.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
OLD_REV = "9150c214ab00f5103a75b253ef9dde73bed5cd51"
LIMIT = 1.0
THREADS = 8
# Pairs the in-process parser rejects, so the grader hands them to the worker.
PAIRS = [
    *[(f"\\sum_{{k=1}}^{{{n}}} k", str(n * (n + 1) // 2)) for n in range(2, 8)],
    *[(f"\\int_0^{{{n}}} 2x\\,dx", str(n * n)) for n in range(2, 8)],
    *[(f"\\sum_{{k=1}}^{{{n}}} k^2", str(n * (n + 1) * (2 * n + 1) // 6)) for n in range(2, 8)],
    ("\\sin(\\pi/6)", "\\frac{1}{2}"),
    ("\\log_2 8", "3"),
    ("\\binom{5}{2}", "10"),
    ("e^{i\\pi}", "-1"),
]
# Math-Verify does not finish this one; the caller gets its verdict at the limit.
HUNG = ("2003^{2002^{2001}}", "1")


def load_old(rev: str, folder: Path) -> ModuleType:
    """The worker module as it was at `rev`, written to `folder` and loaded from there."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{rev}:lm_eval_math500/grader/worker.py"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = folder / "old_worker.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_worker", path)
    module = importlib.util.module_from_spec(spec)
    # Its workers find their functions by module name: importable here and in the fork server.
    sys.path.insert(0, str(folder))
    sys.modules["old_worker"] = module
    spec.loader.exec_module(module)
    return module


def timed(pool, pair: tuple[str, str]) -> float:
    start = time.perf_counter()
    pool.run({"pred": pair[0], "gold": pair[1]}, LIMIT)
    return time.perf_counter() - start


def cut_off_beside_hung_checks(pool, hung: int = 2) -> int:
    """How many of 40 quick checks, run by 8 threads while `hung` checks that never finish run beside
    them, come back cut off."""
    with ThreadPoolExecutor(max_workers=THREADS) as threads:
        stuck = [threads.submit(pool.run, {"pred": HUNG[0], "gold": HUNG[1]}, LIMIT) for _ in range(hung)]
        time.sleep(0.1)
        replies = list(threads.map(lambda i: pool.run({"pred": PAIRS[i % len(PAIRS)][0], "gold": PAIRS[i % len(PAIRS)][1]},
                                                      LIMIT), range(40)))
        for future in stuck:
            future.result()
    return sum(reply is None for reply in replies)


def verdicts(pool) -> list[bool | None]:
    """Each pair's verdict (None: cut off at the limit)."""
    replies = [pool.run({"pred": p, "gold": g}, LIMIT) for p, g in PAIRS]
    return [None if reply is None else reply["equal"] for reply in replies]


def measure(which: str, rev: str, calls: int, hung_calls: int) -> dict:
    """Every measure for one implementation, in this interpreter, and its verdicts."""
    with tempfile.TemporaryDirectory() as folder:
        if which == "old":
            pool = load_old(rev, Path(folder)).POOL
            start = time.perf_counter()
            pool._started()
        else:
            from lm_eval_math500.grader.worker import POOL as pool

            start = time.perf_counter()
            pool.start()
        out = {"start-up s": time.perf_counter() - start, "first call ms": timed(pool, PAIRS[0]) * 1e3}
        times = [timed(pool, PAIRS[i % len(PAIRS)]) for i in range(calls)]
        out["median ms"] = statistics.median(times) * 1e3
        out["p99 ms"] = sorted(times)[min(len(times) - 1, int(0.99 * len(times)))] * 1e3
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=THREADS) as threads:
            list(threads.map(lambda i: timed(pool, PAIRS[i % len(PAIRS)]), range(calls)))
        out[f"{calls} calls in {THREADS} threads s"] = time.perf_counter() - start
        hung, after = [], []
        for i in range(hung_calls):
            hung.append(timed(pool, HUNG))
            after.append(timed(pool, PAIRS[i % len(PAIRS)]))
        out["hung call returns s"] = statistics.median(hung)
        out["next answer after a kill ms"] = statistics.median(after) * 1e3
        out["worst next answer ms"] = max(after) * 1e3
        out["quick checks cut off beside 2 hung ones (of 40)"] = cut_off_beside_hung_checks(pool)
        out["verdicts"] = verdicts(pool)
        pool.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-rev", default=OLD_REV, help="the commit whose grader/worker.py is the pebble pool")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--hung-calls", type=int, default=5)
    parser.add_argument("--measure", choices=("old", "new"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.old_rev, args.calls, args.hung_calls)))
        return
    runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    for r in range(args.rounds):
        for which in ("old", "new") if r % 2 == 0 else ("new", "old"):
            command = [sys.executable, __file__, "--measure", which, "--old-rev", args.old_rev,
                       "--calls", str(args.calls), "--hung-calls", str(args.hung_calls)]  # fmt: skip
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            runs[which].append(json.loads(done.stdout.splitlines()[-1]))
    print(f"{len(PAIRS)} symbolic pairs, {args.calls} calls, {args.hung_calls} hung calls, "
          f"{LIMIT:.0f} s limit; median of {args.rounds} rounds\n")  # fmt: skip
    print("| measure | fork server + pebble (old) | subprocess workers, CPU-time limit (new) | new / old |")
    print("|---|---|---|---|")
    for key in [k for k in runs["old"][0] if k != "verdicts"]:
        old = statistics.median(run[key] for run in runs["old"])
        new = statistics.median(run[key] for run in runs["new"])
        print(f"| {key} | {old:.3f} | {new:.3f} | {new / old if old else float('nan'):.2f} |")
    same = all(run["verdicts"] == runs["old"][0]["verdicts"] for run in runs["old"] + runs["new"])
    print(f"\nverdicts on the {len(PAIRS)} pairs: {'the same' if same else 'DIFFERENT'} in every run of both")


if __name__ == "__main__":
    main()
