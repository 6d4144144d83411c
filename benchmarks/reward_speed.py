"""Rewarding published responses: ``grade_batch`` against a Math-Verify reward that calls Math-Verify
as TRL's ``accuracy_reward`` does, side by side in one run, with every response they disagree on.

The 500 CS336 responses of Qwen2.5-Math-1.5B (base) to MATH-500 under the r1_zero prompt, read as
the ``math500_r1zero`` task reads them, and the 800 Qwen2.5-Math-Instruct responses to the first 100
MATH test problems (8 each), read as ``math_validation_question_only`` does. Both rewards get the
same golds, the datasets' whole solutions (a trainer's ``solution`` column); ours also gets the
problem text. Compared is whether the answer is right (the task's ``accuracy``; on r1_zero the
reward also asks for the format, which Math-Verify's does not check). Every disagreement must have
a line in ``reward_adjudications.tsv`` saying which side is right and why.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from latex2sympy2_extended import NormalizationConfig
from math_verify import LatexExtractionConfig, parse, verify

from lm_eval_math500.grader import equivalence, forms, latex, parser, prose
from lm_eval_math500.grader.worker import POOL, TIME_LIMIT
from lm_eval_math500.harness.replay import problem_key
from lm_eval_math500.rewards import grade_batch

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ADJUDICATIONS = Path(__file__).with_name("reward_adjudications.tsv")
_R1_QUESTION = re.compile(r"\nUser: (.*)\nAssistant:", re.DOTALL)


@dataclass(frozen=True)
class Response:
    """One published response with what both rewards are given."""

    source: str
    idx: int  # the row's position in the CS336 file; Qwen's own idx
    sample: int
    text: str
    solution: str
    problem: str
    gold: str  # the dataset's answer, shown in the table


def cs336_base(data: Path) -> list[Response]:
    """The CS336 file's 500 responses, each with its MATH-500 problem (matched by the prompt's question)."""
    docs = {problem_key(d["problem"]): d for d in read_jsonl(data / "math500" / "test.jsonl")}
    rows = read_jsonl(data / "published_runs" / "qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl")
    found = []
    for idx, row in enumerate(rows):
        doc = docs[problem_key(_R1_QUESTION.search(row["prompt"]).group(1))]
        found.append(Response("cs336-base", idx, 0, row["response"], doc["solution"], doc["problem"], doc["answer"]))
    return found


def qwen_8_samples(data: Path) -> list[Response]:
    rows = read_jsonl(data / "published_runs" / "qwen25_math_instruct__math_first100__cot_t0.7_n8__qwenlm.jsonl")
    return [
        Response("qwen-8-samples", row["idx"], k, text, row["solution"], row["question"], row["answer"])
        for row in rows
        for k, text in enumerate(row["code"])
    ]


@dataclass(frozen=True)
class Source:
    """A set of responses and the prompt variant ours reads them as."""

    name: str
    read: Callable[[Path], list[Response]]
    variant: str


SOURCES = (Source("cs336-base", cs336_base, "r1_zero"), Source("qwen-8-samples", qwen_8_samples, "question_only"))


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# How TRL's accuracy_reward asks Math-Verify for a completion's answer: LaTeX only, units
# normalised, a box tried first, nothing without an anchor ("final answer is", a box, ...).
COMPLETION_EXTRACTION = [
    LatexExtractionConfig(
        normalization_config=NormalizationConfig(units=True), boxed_match_priority=0, try_extract_without_anchor=False
    )
]


def math_verify_reward(completions: list[str], solutions: list[str]) -> tuple[list[float | None], list[str]]:
    """Math-Verify called as TRL's accuracy_reward calls it: the gold read from the whole solution
    with Math-Verify's default extraction, the completion's first match under
    ``COMPLETION_EXTRACTION``, ``verify`` of the two; Math-Verify's own time limits (10 s to parse,
    5 s to verify) in the main thread and none in others, where its SIGALRM cannot work; None where
    the gold does not parse. Also what it read from each completion."""
    main_thread = threading.current_thread() is threading.main_thread()
    parse_limit, verify_limit = (10, 5) if main_thread else (None, None)
    rewards, read = [], []
    for completion, solution in zip(completions, solutions, strict=True):
        gold = parse(solution, parsing_timeout=parse_limit)
        if not gold:
            rewards.append(None)
            read.append("(gold does not parse)")
            continue
        answer = parse(
            completion, extraction_config=COMPLETION_EXTRACTION, extraction_mode="first_match", parsing_timeout=parse_limit
        )
        rewards.append(float(verify(gold, answer, timeout_seconds=verify_limit)))
        read.append(str(answer[-1]) if answer else "(nothing)")
    return rewards, read


def cold_caches() -> None:
    """Empty the grader's caches, so that no timed pass reuses the work of the one before."""
    for module in (equivalence, forms, latex, parser, prose):
        for value in vars(module).values():
            if hasattr(value, "cache_clear"):
                value.cache_clear()


def warm_up(data: Path, processes: int | None) -> None:
    """Grade 300 graderbench solutions on both sides first: the grader's helper and the workers a
    batch keeps busy started (a trainer has them from its first step), Math-Verify's grammar loaded,
    and neither side holding a verdict on the responses to be timed."""
    rows = read_jsonl(data / "graderbench" / "processbench_labelled.jsonl")[:300]
    solutions = [f"$\\boxed{{{row['gold_answer']}}}$" for row in rows]
    grade_batch([r["model_solution"] for r in rows], solutions, variant="question_only", processes=processes)
    math_verify_reward([r["model_solution"] for r in rows], solutions)
    # Those solutions are all decided without a symbolic check: one check per thread forks the
    # workers a trainer's batches keep from the first step on.
    threads = processes or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda _: POOL.run({"pred": "x^2 - 1", "gold": "(x - 1)(x + 1)"}, TIME_LIMIT), range(threads)))


def read_adjudications(path: Path) -> dict[tuple[str, int, int], dict[str, str]]:
    """(source, idx, sample) -> its adjudication (``right``: ours, math-verify, format or ambiguous)."""
    with path.open(encoding="utf-8") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        return {(r["source"], int(r["idx"]), int(r["sample"])): r for r in rows}


def cell(text: object, width: int = 50) -> str:
    """A table cell: one line, pipes escaped, cut to ``width`` characters."""
    flat = " ".join(str(text).split()).replace("|", "\\|")
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def main() -> None:
    command_line = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    command_line.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    command_line.add_argument("--processes", type=int, help="grade_batch's processes (default: one per CPU)")
    args = command_line.parse_args()
    adjudicated = read_adjudications(ADJUDICATIONS)
    warm_up(args.data, args.processes)
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs, grade_batch processes={args.processes or os.cpu_count()}")
    rows, disagreements = [], []
    for source in SOURCES:
        responses = source.read(args.data)
        texts, solutions, problems = ([getattr(r, f) for r in responses] for f in ("text", "solution", "problem"))
        cold_caches()
        start = time.perf_counter()
        ours = grade_batch(texts, solutions, problems, variant=source.variant, processes=args.processes)
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        theirs, read = math_verify_reward(texts, solutions)
        theirs_s = time.perf_counter() - start
        differ = [(r, v, t, m) for r, v, t, m in zip(responses, ours, theirs, read) if float(v.correct) != t]
        rows.append((source, len(responses), sum(v.correct for v in ours), sum(t or 0 for t in theirs), ours_s, theirs_s, len(differ)))
        disagreements += differ
    print("\n| responses | n | ours right | Math-Verify right | grade_batch s | Math-Verify s | speed-up | disagree |")
    print("|---|---|---|---|---|---|---|---|")
    for source, n, right, mv_right, ours_s, theirs_s, n_differ in rows:
        print(f"| {source.name} ({source.variant}) | {n} | {right} | {mv_right:.0f} | {ours_s:.3f} | {theirs_s:.3f} "
              f"| {theirs_s / ours_s:.1f}x | {n_differ} |")
    total_ours, total_theirs = sum(r[4] for r in rows), sum(r[5] for r in rows)
    print(f"| all | {sum(r[1] for r in rows)} | | | {total_ours:.3f} | {total_theirs:.3f} "
          f"| {total_theirs / total_ours:.1f}x | {len(disagreements)} |")

    print("\n| source | idx | sample | gold | ours | ours reads | Math-Verify | Math-Verify reads | right | why |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    counts: dict[str, int] = {}
    for response, verdict, mv, mv_read in disagreements:
        note = adjudicated.get((response.source, response.idx, response.sample), {"right": "unadjudicated", "why": ""})
        counts[note["right"]] = counts.get(note["right"], 0) + 1
        print(f"| {response.source} | {response.idx} | {response.sample} | {cell(response.gold, 25)} "
              f"| {int(verdict.correct)} | {cell(verdict.pred if verdict.pred is not None else verdict.reason, 40)} "
              f"| {mv:.0f} | {cell(mv_read, 40)} | {note['right']} | {cell(note['why'], 400)} |")
    print("\nright: " + ", ".join(f"{name} {count}" for name, count in sorted(counts.items())))
    stale = sorted(set(adjudicated) - {(r.source, r.idx, r.sample) for r, *_ in disagreements})
    if stale:
        print(f"{len(stale)} adjudicated responses no longer differ: " + ", ".join(f"{s} {i}/{k}" for s, i, k in stale))


if __name__ == "__main__":
    main()
