"""Grading throughput per 1,000 samples on published model outputs: inside a whole lm-eval run and alone.

lm-eval grades after the last generation is in, in one process, so grading time adds to a run's
wall clock. Each source is re-graded through lm-eval with the replay model (filters, metrics,
aggregation: what a run does after generating); the same run on one problem gives the fixed
set-up (task and dataset loading), and the rest, per 1,000 samples, is grading in the run
(r1_zero tasks grade every sample once per filter: tags and cs336). Then the same responses go
through ``grade`` alone, one after another.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import lm_eval
from lm_eval.tasks import TaskManager

from lm_eval_math500 import grade
from lm_eval_math500.grader import equivalence, forms, latex, parser, prose
from lm_eval_math500.grader.worker import POOL
from lm_eval_math500.cli import tasks_dir
from lm_eval_math500.harness.replay import ReplayLM, problem_key, read_generations

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass(frozen=True)
class Source:
    """Published outputs and the task that re-grades them."""

    label: str
    file: str
    task: str
    variant: str
    repeats: int = 1


SOURCES = (
    Source("CS336 Qwen2.5-Math-1.5B base, r1_zero, 1k tokens", "qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl", "math500_r1zero", "r1_zero"),
    Source("Qwen2.5-Math-Instruct CoT, MATH first 100 x 8", "qwen25_math_instruct__math_first100__cot_t0.7_n8__qwenlm.jsonl", "math_validation_question_only", "question_only", repeats=8),
    Source("Sky-T1 long CoT (up to 32k tokens), MATH-500", "sky_t1_math_correct_5k_27b_gemma2__math500__skyt1_greedy_max32768__skythought.jsonl", "math500_question_only", "question_only"),
)  # fmt: skip


def lm_eval_run(source: Source, data: Path, docs: int | None = None) -> tuple[float, list[tuple[str, str, str]]]:
    """Seconds for the whole replayed run (of its first ``docs`` problems), and its (response, gold, problem)."""
    path = data / "published_runs" / source.file
    cold_caches()
    start = time.perf_counter()
    manager = TaskManager(include_path=str(tasks_dir()), include_defaults=False, metadata={"data_dir": str(data)})
    task = manager.load([source.task])["tasks"][source.task]
    task.set_config(key="repeats", value=source.repeats)
    saved = read_generations(path)
    doc_ids = [i for i, doc in enumerate(task.test_docs()) if problem_key(doc["problem"]) in saved][:docs]
    results = lm_eval.simple_evaluate(
        model=ReplayLM(path=str(path), keep_stop=source.variant == "r1_zero"),
        tasks=[task],
        task_manager=manager,
        samples={source.task: doc_ids},
        log_samples=True,
        bootstrap_iters=0,
    )
    seconds = time.perf_counter() - start
    rows = {row["doc_id"]: row for row in results["samples"][source.task]}.values()  # one per doc, not per filter
    triples = [(text, row["target"], row["doc"]["problem"]) for row in rows for text in row["resps"][0]]
    return seconds, triples


def cold_caches() -> None:
    """Empty the grader's caches, so that no measurement reuses verdict work of the one before."""
    for module in (equivalence, forms, latex, parser, prose):
        for value in vars(module).values():
            if hasattr(value, "cache_clear"):
                value.cache_clear()


def grader_alone(source: Source, triples: list[tuple[str, str, str]]) -> float:
    cold_caches()
    start = time.perf_counter()
    for response, gold, problem in triples:
        grade(response, gold, variant=source.variant, problem=problem)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    args = parser.parse_args()
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    POOL.start()  # the grader's symbolic workers start outside the timing, as a task's filter starts them
    print(
        "| source | samples | mean response chars | whole run s | set-up s | grading in the run s / 1,000 "
        "| grade() alone s / 1,000 |"
    )
    print("|---|---|---|---|---|---|---|")
    for source in SOURCES:
        lm_eval_run(source, args.data, docs=1)  # once to pay the once-per-process costs (imports, caches)
        setup_seconds, _ = lm_eval_run(source, args.data, docs=1)  # the same run on one problem: fixed costs
        run_seconds, triples = lm_eval_run(source, args.data)
        alone = grader_alone(source, triples)
        n = len(triples)
        chars = sum(len(response) for response, _, _ in triples) / n
        in_run = max(run_seconds - setup_seconds, 0.0)
        print(
            f"| {source.label} | {n} | {chars:,.0f} | {run_seconds:.1f} | {setup_seconds:.1f} | "
            f"{in_run / n * 1000:.1f} | {alone / n * 1000:.1f} |"
        )

if __name__ == "__main__":
    main()
