"""Replay the published runs through the tasks and list every verdict that differs from the source's.

Each file in ``../shared/data/published_runs`` is fed to its task with ``--model replay`` on the
local data. Per sample, our verdict is set against the source's own: the CS336 ``answer_reward``,
Qwen's ``score``, or for ToRA its extracted ``pred`` compared numerically with ``gt``. Every
differing sample must have a one-line adjudication in ``replay_adjudications.tsv`` (keyed by file,
idx and sample) saying which side is right; the closing table counts how many of them ours gets right.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import lm_eval
from lm_eval.tasks import TaskManager

from lm_eval_math500.cli import tasks_dir
from lm_eval_math500.harness.metrics import doc_verdict
from lm_eval_math500.harness.replay import ReplayLM, problem_key

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ADJUDICATIONS = Path(__file__).with_name("replay_adjudications.tsv")
_R1_QUESTION = re.compile(r"\nUser: (.*)\nAssistant:", re.DOTALL)


def _cs336_verdicts(row: dict[str, Any]) -> list[bool]:
    return [row["metrics"]["answer_reward"] == 1.0]


def _qwen_verdicts(row: dict[str, Any]) -> list[bool]:
    return [bool(s) for s in row["score"]]


def _number(text: str) -> Fraction | None:
    try:
        return Fraction(text.replace(",", "").strip())
    except (ValueError, ZeroDivisionError):
        return None


def _tora_verdicts(row: dict[str, Any]) -> list[bool]:
    gold = _number(row["gt"])
    return [gold is not None and _number(pred) == gold for pred in row["pred"]]


@dataclass(frozen=True)
class Run:
    """A published file, the task that replays it, the filter whose verdict is compared and how
    the source's own verdicts are read (one per saved sample)."""

    file: str
    task: str
    filter: str
    source_verdicts: Callable[[dict[str, Any]], list[bool]]
    repeats: int = 1
    keep_stop: bool = False  # CS336's vLLM runs kept the stop string in the output
    boxed_instruction: str = "user"  # where the boxed variant's instruction went: "user" or "system"


RUNS = (
    Run("qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl",
        "math500_r1zero", "cs336", _cs336_verdicts, keep_stop=True),
    Run("qwen25_math_1.5b_instruct__math500__r1zero_t1.0_max1024__results.jsonl",
        "math500_r1zero", "cs336", _cs336_verdicts, keep_stop=True),
    Run("qwen25_math_instruct__math_first100__cot_t0.7_n8__qwenlm.jsonl",
        "math_validation_boxed", "extract", _qwen_verdicts, repeats=8, boxed_instruction="system"),
    Run("tora_70b__gsm8k_test__tora_greedy__microsoft_tora.jsonl",
        "gsm8k_boxed", "extract", _tora_verdicts),
    Run("qwen25_math_7b_base__math500__qwen25mathcot_greedy_max32768__skythought.jsonl",
        "math500_boxed", "extract", _qwen_verdicts, boxed_instruction="system"),
    Run("sky_t1_math_correct_5k_27b_gemma2__math500__skyt1_greedy_max32768__skythought.jsonl",
        "math500_boxed", "extract", _qwen_verdicts),
)  # fmt: skip


@dataclass(frozen=True)
class Difference:
    """One sample where our verdict and the source's differ."""

    file: str
    idx: int
    sample: int
    gold: str
    pred: str | None
    ours: bool
    source: bool


def _problem(row: dict[str, Any]) -> str:
    if "question" in row:
        return row["question"]
    return _R1_QUESTION.search(row["prompt"]).group(1)


def replay_run(run: Run, data: Path) -> tuple[int, int, int, list[Difference]]:
    """(samples, source correct, ours correct, differences) for one published file."""
    path = data / "published_runs" / run.file
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    by_problem = {problem_key(_problem(row)): (i, row) for i, row in enumerate(rows)}
    metadata = {"data_dir": str(data), "boxed_instruction": run.boxed_instruction}
    manager = TaskManager(include_path=str(tasks_dir()), include_defaults=False, metadata=metadata)
    task = manager.load([run.task])["tasks"][run.task]
    task.set_config(key="repeats", value=run.repeats)
    doc_ids = [i for i, doc in enumerate(task.test_docs()) if problem_key(doc["problem"]) in by_problem]
    if len(doc_ids) != len(rows):
        raise ValueError(f"{run.file}: {len(rows)} rows but {len(doc_ids)} match a {run.task} problem")
    results = lm_eval.simple_evaluate(
        model=ReplayLM(path=str(path), keep_stop=run.keep_stop),
        tasks=[task],
        task_manager=manager,
        samples={run.task: doc_ids},
        bootstrap_iters=0,
        verbosity="WARNING",
    )
    total = source_right = ours_right = 0
    differences = []
    for sample in results["samples"][run.task]:
        if sample["filter"] != run.filter:
            continue
        position, row = by_problem[problem_key(sample["doc"]["problem"])]
        (answers,) = sample["filtered_resps"]
        answers = answers if isinstance(answers, list) else [answers]
        ours = [doc_verdict(a.answer, sample["doc"]).correct and (run.filter != "cs336" or a.format_ok) for a in answers]
        source = run.source_verdicts(row)
        for k, (a, b) in enumerate(zip(ours, source, strict=True)):
            total += 1
            ours_right += a
            source_right += b
            if a != b:
                idx = row.get("idx", position)
                differences.append(
                    Difference(run.file, idx, k, sample["doc"]["answer"], answers[k].answer, a, b)
                )
    return total, source_right, ours_right, differences


def read_adjudications(path: Path) -> dict[tuple[str, int, int], dict[str, str]]:
    """The adjudication table: (file, idx, sample) -> its row (`right` is ours, source or ambiguous)."""
    with path.open(encoding="utf-8") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        return {(r["file"], int(r["idx"]), int(r["sample"])): r for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--only", help="replay only the files whose name contains this text")
    args = parser.parse_args()
    adjudicated = read_adjudications(ADJUDICATIONS)
    summary = []
    seen: set[tuple[str, int, int]] = set()
    for run in RUNS:
        if args.only and args.only not in run.file:
            continue
        total, source_right, ours_right, differences = replay_run(run, args.data)
        print(f"\n## {run.file} ({run.task}, filter {run.filter})")
        counts = {"ours": 0, "source": 0, "ambiguous": 0, "unadjudicated": 0}
        for d in differences:
            seen.add((d.file, d.idx, d.sample))
            note = adjudicated.get((d.file, d.idx, d.sample))
            right = note["right"] if note else "unadjudicated"
            counts[right] += 1
            why = note["why"] if note else ""
            print(f"- idx {d.idx} sample {d.sample}: ours={d.ours} source={d.source} gold={d.gold!r} "
                  f"pred={(d.pred or '')[:60]!r} -> {right}: {why}")
        summary.append((run.file.split("__")[0], total, source_right, ours_right, len(differences), counts))
    print("\n| file | samples | source acc | ours acc | differing | ours right | source right | ambiguous | unadjudicated |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, total, source_right, ours_right, n_diff, c in summary:
        print(f"| {name} | {total} | {source_right / total:.1%} ({source_right}) | {ours_right / total:.1%} ({ours_right}) "
              f"| {n_diff} | {c['ours']} | {c['source']} | {c['ambiguous']} | {c['unadjudicated']} |")
    replayed = {run.file for run in RUNS if not args.only or args.only in run.file}
    stale = [key for key in adjudicated if key[0] in replayed and key not in seen]
    if stale:
        print(f"\n{len(stale)} adjudicated samples no longer differ: " + ", ".join(f"{f.split('__')[0]} {i}/{k}" for f, i, k in stale))


if __name__ == "__main__":
    main()
