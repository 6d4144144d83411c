"""``lm-eval-math500 compare RUN_A RUN_B``: two runs of one task, problem by problem.

Problems are paired by ``unique_id``. Each run has one answer per problem: the only sample, or with
several samples the equivalence majority vote (:mod:`lm_eval_math500.harness.sampling`; its first
sample stands for it). Right means the task's ``accuracy`` verdict on that answer, whatever the
format (``--out`` gives ``format_ok`` beside it). The summary gives the 2x2 table, the exact McNemar test (a two-sided
binomial test on the discordant pairs) and a paired bootstrap 95% interval of accuracy A - B
(percentile method, 10,000 resamples, fixed seed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

import numpy as np
from scipy.stats import binomtest, bootstrap

from lm_eval_math500.analysis.report import code_cell
from lm_eval_math500.analysis.samples import Problem, Response, Run, RunReadError, read_run
from lm_eval_math500.harness.sampling import answer_classes, majority

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class Pair:
    """One problem answered by both runs: run A's problem and each run's chosen response."""

    a_problem: Problem
    a: Response
    b: Response


def chosen(problem: Problem) -> Response:
    """The response that stands for the problem: the only one, or the majority vote's first."""
    if len(problem.responses) == 1:
        return problem.responses[0]
    classes = answer_classes([r.answer for r in problem.responses], [r.correct for r in problem.responses])
    winner = majority(classes)
    return problem.responses[winner if winner is not None else 0]


def common_task(run_a: Run, run_b: Run, task: str | None) -> str:
    """The task both runs hold: ``task`` if given, else their only common one."""
    if task:
        for run in (run_a, run_b):
            run.task(task)  # names the run that lacks it
        return task
    common = [name for name in run_a.tasks if name in run_b.tasks]
    if len(common) != 1:
        raise RunReadError(
            f"the runs share tasks {', '.join(common) or 'none'}: name one with --task"
            if common
            else f"the runs share no task ({', '.join(run_a.tasks)} vs {', '.join(run_b.tasks)})"
        )
    return common[0]


def pairs(run_a: Run, run_b: Run, task: str, filter_name: str | None) -> tuple[list[Pair], int, int]:
    """Problems of both runs paired by unique_id (in run A's order), and how many each run has."""
    problems_a = run_a.task(task).problems(filter_name)
    problems_b = {p.unique_id: p for p in run_b.task(task).problems(filter_name)}
    paired = [Pair(p, chosen(p), chosen(problems_b[p.unique_id])) for p in problems_a if p.unique_id in problems_b]
    if not paired:
        raise RunReadError(f"the two runs of {task} have no problem in common")
    return paired, len(problems_a), len(problems_b)


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: binomial test of ``only_a`` of the discordant pairs at 1/2."""
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def paired_bootstrap(a: Sequence[bool], b: Sequence[bool]) -> tuple[float, float]:
    """95% percentile interval of mean(a) - mean(b), resampling problems (pairs) together."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if np.all(x - y == (x - y)[0]):
        return float(x[0] - y[0]), float(x[0] - y[0])  # no spread to resample
    result = bootstrap(
        (x, y),
        lambda u, v, axis: u.mean(axis=axis) - v.mean(axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=BOOTSTRAP_RESAMPLES,
        confidence_level=0.95,
        method="percentile",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def summary(paired: Sequence[Pair]) -> dict[str, Any]:
    """The comparison's numbers: table, accuracies, McNemar, bootstrap, per-level, flips."""
    a = [p.a.correct for p in paired]
    b = [p.b.correct for p in paired]
    table = {
        "both_right": sum(x and y for x, y in zip(a, b)),
        "only_a": sum(x and not y for x, y in zip(a, b)),
        "only_b": sum(y and not x for x, y in zip(a, b)),
        "both_wrong": sum(not x and not y for x, y in zip(a, b)),
    }
    levels: dict[Any, list[Pair]] = {}
    for p in paired:
        if p.a_problem.level is not None:
            levels.setdefault(p.a_problem.level, []).append(p)
    per_level = {
        str(level): {
            "count": len(group),
            "accuracy_a": fmean(p.a.correct for p in group),
            "accuracy_b": fmean(p.b.correct for p in group),
            "difference": fmean(p.a.correct for p in group) - fmean(p.b.correct for p in group),
        }
        for level, group in sorted(levels.items())
    }
    flips = [
        {
            "unique_id": p.a_problem.unique_id,
            "level": p.a_problem.level,
            "gold": p.a_problem.gold,
            "right": "a" if p.a.correct else "b",
            "pred_a": p.a.answer,
            "pred_b": p.b.answer,
        }
        for p in paired
        if p.a.correct != p.b.correct
    ]
    low, high = paired_bootstrap(a, b)
    return {
        "problems": len(paired),
        **table,
        "accuracy_a": fmean(a),
        "accuracy_b": fmean(b),
        "difference": fmean(a) - fmean(b),
        "mcnemar_p": mcnemar_exact(table["only_a"], table["only_b"]),
        "bootstrap_95": [low, high],
        "per_level": per_level,
        "flips": flips,
    }


def problem_rows(paired: Sequence[Pair]) -> list[dict[str, Any]]:
    """One row per problem in the export's schema, run B's fields prefixed ``compare_``."""
    rows = []
    for p in paired:
        doc = p.a_problem.doc
        row = {
            "idx": p.a_problem.doc_id,
            "unique_id": p.a_problem.unique_id,
            "subject": doc.get("subject"),
            "level": doc.get("level"),
            "problem": doc.get("problem"),
            "gold": p.a_problem.gold,
        }
        for prefix, response in (("model", p.a), ("compare", p.b)):
            row[f"{prefix}_pred"] = response.answer
            row[f"{prefix}_correct"] = response.correct
            row[f"{prefix}_format_ok"] = response.format_ok
            row[f"{prefix}_pred_text"] = response.text
        rows.append(row)
    return rows


def render(numbers: Mapping[str, Any], label_a: str, label_b: str, task: str, counts: tuple[int, int]) -> str:
    """The comparison as Markdown."""
    low, high = numbers["bootstrap_95"]
    lines = [
        f"# {task}: A = {label_a}, B = {label_b}",
        "",
        f"{numbers['problems']} problems in both runs (A has {counts[0]}, B has {counts[1]}).",
        "",
        "| | B right | B wrong |",
        "|---|---|---|",
        f"| **A right** | {numbers['both_right']} | {numbers['only_a']} |",
        f"| **A wrong** | {numbers['only_b']} | {numbers['both_wrong']} |",
        "",
        f"Accuracy A {numbers['accuracy_a']:.3f}, B {numbers['accuracy_b']:.3f}, A - B {numbers['difference']:+.3f}; "
        f"paired bootstrap 95% interval [{low:+.3f}, {high:+.3f}]; exact McNemar p = {numbers['mcnemar_p']:.3g}.",
        "",
    ]
    if numbers["per_level"]:
        lines += ["| level | problems | A | B | A - B |", "|---|---|---|---|---|"]
        lines += [
            f"| {level} | {c['count']} | {c['accuracy_a']:.3f} | {c['accuracy_b']:.3f} | {c['difference']:+.3f} |"
            for level, c in numbers["per_level"].items()
        ]
        lines.append("")
    if numbers["flips"]:
        lines += [f"Problems that flipped ({len(numbers['flips'])}):", "", "| problem | level | gold | right in | A answered | B answered |", "|---|---|---|---|---|---|"]
        lines += [
            f"| {f['unique_id']} | {f['level']} | {code_cell(f['gold'])} | {f['right'].upper()} | {code_cell(f['pred_a'])} | {code_cell(f['pred_b'])} |"
            for f in numbers["flips"]
        ]
    return "\n".join(lines)


def compare_runs(
    path_a: str | Path, path_b: str | Path, *, task: str | None = None, filter_name: str | None = None,
    regrade: bool = False,
) -> tuple[dict[str, Any], list[Pair], str]:
    """The comparison's numbers, the paired problems and the Markdown summary (with ``regrade``,
    of both runs graded again with today's grader)."""
    run_a, run_b = read_run(path_a, regrade=regrade), read_run(path_b, regrade=regrade)
    name = common_task(run_a, run_b, task)
    paired, count_a, count_b = pairs(run_a, run_b, name, filter_name)
    numbers = summary(paired)
    return numbers, paired, render(numbers, run_a.model, run_b.model, name, (count_a, count_b))


def write_comparison(
    path_a: str | Path, path_b: str | Path, *, task: str | None = None, filter_name: str | None = None, out: str | None = None,
    regrade: bool = False,
) -> str:
    """The Markdown summary; with ``out``, also one JSON line per paired problem there."""
    _, paired, text = compare_runs(path_a, path_b, task=task, filter_name=filter_name, regrade=regrade)
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            for row in problem_rows(paired):
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return text
