"""``lm-eval-math500 compare RUN_A RUN_B``: two runs, or two tasks of one dataset, problem by problem.

Problems are paired by ``unique_id``, so the same task from two runs and two prompt variants of one
dataset (``math500_question_only`` against ``math500_boxed``) compare alike. Each side counts by
its task's verdict under its filter (``answer_reward`` on r1_zero, else ``accuracy``). A problem's
value is its share of samples the verdict counts right (avg@n; with one sample, right or wrong),
and the difference A - B is the mean over paired problems of the per-problem differences, with a
paired bootstrap 95% interval (percentile, 10,000 resamples of problems, seed 0). With one sample
on both sides the exact McNemar test (a two-sided binomial test on the discordant pairs) gives the
p-value; with several, a paired permutation test of the per-problem differences (10,000 random
sign flips, seed 0). A problem counts as solved by a run when more than half of its samples are
right; the flip table crosses solved and unsolved, and the problems solved by one run only flipped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

import numpy as np
from scipy.stats import binomtest, bootstrap, permutation_test

from lm_eval_math500.analysis import plots
from lm_eval_math500.analysis.report import code_cell
from lm_eval_math500.analysis.samples import Problem, Run, RunReadError, TaskRun, read_run

RESAMPLES = 10_000
SEED = 0
SHOWN_FLIPS = 10  # flipped problems the printed summary lists; --out has every problem


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a task of a run under one filter.

    Attributes:
        run: the run.
        task: the task.
        filter_name: the extraction filter.
    """

    run: Run
    task: TaskRun
    filter_name: str

    @property
    def metric(self) -> str:
        return self.task.verdict_metric(self.filter_name)

    @property
    def label(self) -> str:
        return f"{self.run.model} · {self.task.name} (filter {self.filter_name}, {self.metric})"


@dataclass(frozen=True)
class Pair:
    """One problem answered on both sides: each side's problem, with all its samples."""

    a: Problem
    b: Problem

    @property
    def value_a(self) -> float:
        return solve_rate(self.a)

    @property
    def value_b(self) -> float:
        return solve_rate(self.b)


def solve_rate(problem: Problem) -> float:
    """The problem's share of samples the task's verdict counts right."""
    return fmean(r.verdict for r in problem.responses)


def solved(problem: Problem) -> bool:
    """More than half of the problem's samples are right (with one sample: it is right)."""
    return 2 * sum(r.verdict for r in problem.responses) > len(problem.responses)


def side(run: Run, task: str | None, filter_name: str | None, other: Run | None = None) -> Side:
    """The side of ``run``: ``task`` if named, else the only task it shares with ``other`` (or its
    only task); ``filter_name`` if named, else the task's first filter."""
    if task is None and other is not None:
        common = [name for name in run.tasks if name in other.tasks]
        if len(common) != 1:
            raise RunReadError(
                f"the runs share tasks {', '.join(common)}: name one with --task"
                if common
                else f"the runs share no task ({', '.join(run.tasks)} vs {', '.join(other.tasks)}): name each with --task and --task-b"
            )
        task = common[0]
    chosen = run.task(task)
    if filter_name is not None and filter_name not in chosen.filters:
        raise RunReadError(
            f"task {chosen.name} has no filter {filter_name!r}; pass --filter (or --filter-b) one of {', '.join(chosen.filters)}"
        )
    return Side(run, chosen, filter_name or chosen.first_filter)


def pairs(a: Side, b: Side) -> tuple[list[Pair], int, int]:
    """Problems of both sides paired by unique_id (in A's order), and how many each side has."""
    problems_a = a.task.problems(a.filter_name)
    problems_b = {p.unique_id: p for p in b.task.problems(b.filter_name)}
    paired = [Pair(p, problems_b[p.unique_id]) for p in problems_a if p.unique_id in problems_b]
    if not paired:
        raise RunReadError(
            f"{a.task.name} and {b.task.name} have no problem in common (none shares a unique_id); compare tasks of one dataset"
        )
    return paired, len(problems_a), len(problems_b)


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: binomial test of ``only_a`` of the discordant pairs at 1/2."""
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def paired_bootstrap(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """95% percentile interval of mean(a) - mean(b), resampling problems (pairs) together."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if np.all(x - y == (x - y)[0]):
        return float(x[0] - y[0]), float(x[0] - y[0])  # no spread to resample
    result = bootstrap(
        (x, y),
        lambda u, v, axis: u.mean(axis=axis) - v.mean(axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=RESAMPLES,
        confidence_level=0.95,
        method="percentile",
        rng=np.random.default_rng(SEED),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def paired_permutation(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of a paired permutation test of mean(a - b) (random sign flips per problem)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if np.all(x == y):
        return 1.0
    result = permutation_test(
        (x, y),
        lambda u, v, axis: u.mean(axis=axis) - v.mean(axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=RESAMPLES,
        alternative="two-sided",
        rng=np.random.default_rng(SEED),
    )
    return float(result.pvalue)


def difference(group: Sequence[Pair]) -> dict[str, Any]:
    """Means of both sides over ``group``, their difference and its paired bootstrap interval."""
    a, b = [p.value_a for p in group], [p.value_b for p in group]
    low, high = paired_bootstrap(a, b)
    return {"count": len(group), "mean_a": fmean(a), "mean_b": fmean(b), "difference": fmean(a) - fmean(b), "low": low, "high": high}


def summary(paired: Sequence[Pair]) -> dict[str, Any]:
    """The comparison's numbers: means, difference and interval, test, flip table, per level, flips."""
    a, b = [p.value_a for p in paired], [p.value_b for p in paired]
    single = all(len(p.a.responses) == 1 and len(p.b.responses) == 1 for p in paired)
    flags = [(solved(p.a), solved(p.b)) for p in paired]
    table = {
        "both_right": sum(x and y for x, y in flags),
        "only_a": sum(x and not y for x, y in flags),
        "only_b": sum(y and not x for x, y in flags),
        "both_wrong": sum(not x and not y for x, y in flags),
    }
    levels: dict[Any, list[Pair]] = {}
    for p in paired:
        if p.a.level is not None:
            levels.setdefault(p.a.level, []).append(p)
    overall = difference(paired)
    flips = sorted(
        (p for p in paired if solved(p.a) != solved(p.b)), key=lambda p: (-abs(p.value_a - p.value_b), p.a.doc_id)
    )
    return {
        "problems": len(paired),
        "samples": [len(paired[0].a.responses), len(paired[0].b.responses)],
        **table,
        "mean_a": overall["mean_a"],
        "mean_b": overall["mean_b"],
        "difference": overall["difference"],
        "bootstrap_95": [overall["low"], overall["high"]],
        "test": "exact McNemar" if single else "paired permutation",
        "p_value": mcnemar_exact(table["only_a"], table["only_b"]) if single else paired_permutation(a, b),
        "per_level": {str(level): difference(group) for level, group in sorted(levels.items())},
        "flips": [
            {
                "unique_id": p.a.unique_id,
                "level": p.a.level,
                "gold": p.a.gold,
                "solved_by": "a" if solved(p.a) else "b",
                "value_a": p.value_a,
                "value_b": p.value_b,
                "answer_a": _answers(p.a),
                "answer_b": _answers(p.b),
            }
            for p in flips
        ],
    }


def _answers(problem: Problem) -> str | None | list[str | None]:
    answers = [r.answer for r in problem.responses]
    return answers[0] if len(answers) == 1 else answers


def problem_rows(paired: Sequence[Pair]) -> list[dict[str, Any]]:
    """One row per paired problem in the export's schema, A's fields prefixed ``model_``, B's
    ``compare_``; with several samples the answers and texts are lists and ``correct`` and
    ``format_ok`` the shares of samples. ``correct`` is the side's verdict; ``flipped`` says
    whether one side solved the problem and the other did not."""
    rows = []
    for p in paired:
        doc = p.a.doc
        row: dict[str, Any] = {
            "idx": p.a.doc_id,
            "unique_id": p.a.unique_id,
            "subject": doc.get("subject"),
            "level": doc.get("level"),
            "problem": doc.get("problem"),
            "gold": p.a.gold,
        }
        for prefix, problem in (("model", p.a), ("compare", p.b)):
            responses = problem.responses
            single = len(responses) == 1
            row[f"{prefix}_pred"] = responses[0].answer if single else [r.answer for r in responses]
            row[f"{prefix}_correct"] = responses[0].verdict if single else solve_rate(problem)
            row[f"{prefix}_format_ok"] = responses[0].format_ok if single else fmean(r.format_ok for r in responses)
            row[f"{prefix}_pred_text"] = responses[0].text if single else [r.text for r in responses]
        row["flipped"] = solved(p.a) != solved(p.b)
        rows.append(row)
    return rows


def render(numbers: Mapping[str, Any], a: Side, b: Side, counts: tuple[int, int]) -> str:
    """The comparison as Markdown; the first line says how many problems are compared."""
    low, high = numbers["bootstrap_95"]
    n_a, n_b = numbers["samples"]
    value = "avg@n" if max(n_a, n_b) > 1 else "share right"
    covered = (
        f"all {numbers['problems']} problems"
        if counts[0] == counts[1] == numbers["problems"]
        else f"the {numbers['problems']} problems both have (A has {counts[0]}, B has {counts[1]})"
    )
    lines = [
        f"# Comparing {covered}",
        "",
        f"- A = {a.label}, {n_a} sample(s) per problem",
        f"- B = {b.label}, {n_b} sample(s) per problem",
        "",
        f"{value}: A {numbers['mean_a']:.3f}, B {numbers['mean_b']:.3f}, A - B {numbers['difference']:+.3f}, "
        f"paired bootstrap 95% interval [{low:+.3f}, {high:+.3f}]; {numbers['test']} p = {numbers['p_value']:.3g}.",
        "",
        "Flip table (solved: more than half of a problem's samples right):",
        "",
        "| | B solves | B does not |",
        "|---|---|---|",
        f"| **A solves** | {numbers['both_right']} | {numbers['only_a']} |",
        f"| **A does not** | {numbers['only_b']} | {numbers['both_wrong']} |",
        "",
    ]
    if numbers["per_level"]:
        lines += ["| level | problems | A | B | A - B | 95% interval |", "|---|---|---|---|---|---|"]
        lines += [
            f"| {level} | {c['count']} | {c['mean_a']:.3f} | {c['mean_b']:.3f} | {c['difference']:+.3f} | [{c['low']:+.3f}, {c['high']:+.3f}] |"
            for level, c in numbers["per_level"].items()
        ]
        lines.append("")
    flips = numbers["flips"]
    if flips:
        shown = flips[:SHOWN_FLIPS]
        more = f", the first {len(shown)} by size of the difference (--out has every problem)" if len(flips) > len(shown) else ""
        lines += [f"Problems that flipped: {len(flips)}{more}.", "", "| problem | level | gold | solved by | A | B | A answered | B answered |", "|---|---|---|---|---|---|---|---|"]
        lines += [
            f"| {f['unique_id']} | {f['level']} | {code_cell(f['gold'])} | {f['solved_by'].upper()} | {f['value_a']:.2f} | {f['value_b']:.2f} "
            f"| {_answer_cell(f['answer_a'])} | {_answer_cell(f['answer_b'])} |"
            for f in shown
        ]
    return "\n".join(lines)


def _answer_cell(answer: str | None | list[str | None]) -> str:
    if isinstance(answer, list):
        counted: dict[str | None, int] = {}
        for item in answer:
            counted[item] = counted.get(item, 0) + 1
        return ", ".join(f"{code_cell(item)} x{n}" if n > 1 else code_cell(item) for item, n in counted.items())
    return code_cell(answer)


def draw(numbers: Mapping[str, Any], a: Side, b: Side, folder: Path, stem: str) -> list[str]:
    """The comparison's figure: per-level paired differences with 95% intervals and the flip table."""
    levels = numbers["per_level"]
    names = [*levels, "all"]
    cells = [*levels.values(), {"difference": numbers["difference"], "low": numbers["bootstrap_95"][0],
                                "high": numbers["bootstrap_95"][1], "count": numbers["problems"]}]  # fmt: skip
    groups = plots.Groups(names, [c["difference"] for c in cells], [c["low"] for c in cells], [c["high"] for c in cells], [c["count"] for c in cells])
    value = "avg@n" if max(numbers["samples"]) > 1 else "share right"
    title = f"Paired difference in {value}, A - B, on {numbers['problems']} problems"
    n_a, n_b = numbers["samples"]
    subtitle = [f"A: {a.label}, {n_a} sample(s) per problem", f"B: {b.label}, {n_b} sample(s) per problem"]
    return plots.plot_comparison(folder, stem, title, subtitle, groups, numbers, "paired bootstrap 95% interval")


def compare_runs(
    path_a: str | Path,
    path_b: str | Path,
    *,
    task: str | None = None,
    filter_name: str | None = None,
    task_b: str | None = None,
    filter_b: str | None = None,
    regrade: bool = False,
) -> tuple[dict[str, Any], list[Pair], str, tuple[Side, Side]]:
    """The comparison's numbers, the paired problems, the Markdown summary and the two sides.

    ``task`` and ``filter_name`` choose both sides' task and filter; ``task_b`` and ``filter_b``
    choose B's where it differs (another prompt variant of the same dataset). With ``regrade`` both
    runs are graded again with today's grader."""
    run_a, run_b = read_run(path_a, regrade=regrade), read_run(path_b, regrade=regrade)
    if task_b is None:
        a = side(run_a, task, filter_name, other=run_b)
        b = side(run_b, a.task.name, filter_b or filter_name)
    else:
        a = side(run_a, task, filter_name)
        b = side(run_b, task_b, filter_b)
    paired, count_a, count_b = pairs(a, b)
    numbers = summary(paired)
    return numbers, paired, render(numbers, a, b, (count_a, count_b)), (a, b)


def write_comparison(
    path_a: str | Path,
    path_b: str | Path,
    *,
    task: str | None = None,
    filter_name: str | None = None,
    task_b: str | None = None,
    filter_b: str | None = None,
    out: str | None = None,
    plot: str | Path = "compare.png",
    regrade: bool = False,
) -> str:
    """The Markdown summary; writes the figure to ``plot`` (PNG, and SVG beside it) and, with
    ``out``, one JSON line per paired problem there. A file that cannot be written is a
    :class:`RunReadError` naming it."""
    numbers, paired, text, (a, b) = compare_runs(
        path_a, path_b, task=task, filter_name=filter_name, task_b=task_b, filter_b=filter_b, regrade=regrade
    )
    plot = Path(plot)
    try:
        plot.parent.mkdir(parents=True, exist_ok=True)
        draw(numbers, a, b, plot.parent, plot.name.removesuffix(".png"))
    except OSError as error:
        raise RunReadError(f"cannot write the figure {plot} ({error.strerror}); pass --plot a .png path in a writable folder") from None
    if out:
        try:
            with open(out, "w", encoding="utf-8") as handle:
                for row in problem_rows(paired):
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        except OSError as error:
            raise RunReadError(f"cannot write {out} ({error.strerror}); pass --out a file path in a writable folder") from None
    return text + f"\n\nFigure: {plot} (and {plot.with_suffix('.svg').name})"
