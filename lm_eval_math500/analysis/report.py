"""``lm-eval-math500 report RUN_DIR``: a report of a finished run worth publishing, with its plots.

It reads the responses of :mod:`lm_eval_math500.analysis.samples` and leads with the task's own
verdict under each filter (``answer_reward`` on r1_zero, else ``accuracy``; avg@n with several
samples), beside the rates to check first: ``format_ok``, ``unfinished``, ``budget_reached`` (only
where the run measured it against a budget it really had) and grader timeouts. The report folder
gets ``report.md``, ``report.json`` (the same numbers), ``report.html`` and each plot as PNG and SVG.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean, median, stdev
from typing import Any

import numpy as np
from tqdm import tqdm

from lm_eval_math500.analysis import plots
from lm_eval_math500.analysis.background import Pending, in_background
from lm_eval_math500.analysis.efficiency import MEASURES, efficiency_tables, measure
from lm_eval_math500.analysis.intervals import bootstrap_means, interval_name, mean_interval, verdict_cell, wilson
from lm_eval_math500.analysis.samples import Problem, Run, RunReadError, TaskRun, read_run
from lm_eval_math500.analysis.tokens import TokenCounter, model_tokenizer_name, token_counter
from lm_eval_math500.harness.output_paths import path_component
from lm_eval_math500.harness.sampling import (
    CORRECT,
    MONTE_CARLO_SEED,
    answer_classes,
    ladder,
    majority,
    pass_at_k,
    subset_vote,
)

LENGTH_BINS = 8  # response-length bins of equal counts for the verdict-by-length plot
# Models that serve saved generations: the budget of the run that wrote them is not the task's.
REPLAYING_MODELS = ("replay",)


@dataclass(frozen=True)
class Estimate:
    """A mean over problems, its standard error, how many problems, and its 95% interval."""

    mean: float
    stderr: float
    count: int
    low: float
    high: float


def estimate(shares: Sequence[float], samples_per_problem: int) -> Estimate:
    """Mean and standard error over problems (0 for one), with :func:`mean_interval`'s interval."""
    se = stdev(shares) / math.sqrt(len(shares)) if len(shares) > 1 else 0.0
    low, high = mean_interval(shares, samples_per_problem)
    return Estimate(math.fsum(shares) / len(shares), se, len(shares), low, high)


def verdict_share(problem: Problem) -> float:
    """The problem's share of samples the task's verdict counts right."""
    return fmean(r.verdict for r in problem.responses)


@dataclass(frozen=True)
class Lengths:
    """Response lengths in tokens, per problem and response.

    Attributes:
        counts: the token count of every response, per problem.
        source: ``"run"`` when the run counted every response, else what counted the rest:
            a tokenizer's name, or ``"estimate"``.
    """

    counts: list[list[int]]
    source: str

    @property
    def estimated(self) -> bool:
        return self.source == "estimate"

    @property
    def label(self) -> str:
        """The axis label, saying "estimated" whenever the counts are."""
        if self.estimated:
            return "response tokens (estimated)"
        return "response tokens" if self.source == "run" else f"response tokens ({self.source} tokenizer)"


def response_lengths(problems: Sequence[Problem], counter: TokenCounter) -> Lengths:
    """Each response's token count as the run recorded it, else counted by ``counter``."""
    counts, fallback = [], False
    # disable=None: a progress bar only on a terminal
    for problem in tqdm(problems, desc="Counting tokens", unit="problem", leave=False, disable=None):
        missing = [r.text for r in problem.responses if r.tokens is None]
        fallback = fallback or bool(missing)
        counted = iter(counter.count(missing))
        counts.append([r.tokens if r.tokens is not None else next(counted) for r in problem.responses])
    return Lengths(counts, counter.source if fallback else "run")


@dataclass(frozen=True)
class Budget:
    """The token budget the run's responses had, and whether ``budget_reached`` was measured.

    Attributes:
        tokens: the run's ``max_gen_toks``; None when the run did not generate (a replay).
        measured: whether the run counted every response's tokens against that budget.
        note: why the budget is not reported, when it is not.
    """

    tokens: int | None
    measured: bool
    note: str


def run_budget(run: Run, task: TaskRun, problems: Sequence[Problem]) -> Budget:
    """The budget the run really had: none for a replay (the saved generations had their own)."""
    config = run.raw.get("config") or {}
    model = config.get("model")
    args = config.get("model_args")
    if model == "journal" and isinstance(args, Mapping):
        model = args.get("backend", model)
    limit = task.generation_kwargs.get("max_gen_toks")
    if model in REPLAYING_MODELS:
        return Budget(None, False, "not measured: a replay's generations were made under a budget the run does not know")
    if not limit:
        return Budget(None, False, "not measured: the task set no max_gen_toks")
    if any(r.tokens is None for p in problems for r in p.responses):
        return Budget(int(limit), False, "not measured: the run did not count response tokens")
    return Budget(int(limit), True, "")


def grouped(problems: Sequence[Problem], by: str, samples: int) -> dict[str, dict[str, float]]:
    """The verdict (avg@n) with standard error, count and 95% interval per value of the doc field ``by``."""
    groups: dict[Any, list[float]] = {}
    for problem in problems:
        if problem.doc.get(by) is not None:
            groups.setdefault(problem.doc[by], []).append(verdict_share(problem))
    return {str(key): vars(estimate(groups[key], samples)) for key in sorted(groups)}


def string_vote(problem: Problem) -> int | None:
    """The index of the first sample of the most frequent answer string (ties: earliest), or None."""
    answers = [r.answer for r in problem.responses]
    votes = Counter(a for a in answers if a)
    if not votes:
        return None
    best = max(votes, key=lambda a: (votes[a], -answers.index(a)))
    return answers.index(best)


def votes_of(problem: Problem, format_counts: bool) -> list[int]:
    """Vote classes of the problem's samples under the verdict: right is the verdict's right, and
    where the format is part of the verdict an answer outside the format does not vote."""
    answers = [r.answer if r.format_ok or not format_counts else None for r in problem.responses]
    return answer_classes(answers, [r.verdict for r in problem.responses])


def sampling_table(problems: Sequence[Problem], format_counts: bool) -> dict[str, Any]:
    """avg@n, pass@k, maj@k (first k samples) and maj_avg@k (every k-subset) under the verdict, each
    with a 95% bootstrap interval over problems; and the problems where a vote on exact answer
    strings picks another answer than the equivalence vote."""
    n = len(problems[0].responses)
    ks = ladder(n)
    rng = np.random.default_rng(MONTE_CARLO_SEED)
    passes, firsts, subsets, subset_errors, exact = [], [], [], [], True
    differ, string_right = [], []
    for problem in tqdm(problems, desc="Majority votes", unit="problem", leave=False, disable=None):
        right = [r.verdict for r in problem.responses]
        classes = votes_of(problem, format_counts)
        passes.append([pass_at_k(n, sum(right), k) for k in ks])
        firsts.append([_vote_right(classes[:k]) for k in ks])
        votes = [subset_vote(classes, k, rng) for k in ks]
        subsets.append([v.value for v in votes])
        subset_errors.append([v.stderr for v in votes])
        exact = exact and all(v.exact for v in votes)
        winner, by_string = majority(classes), string_vote(problem)
        string_right.append(by_string is not None and problem.responses[by_string].verdict)
        if winner is not None and by_string is not None and classes[winner] != classes[by_string]:
            differ.append(
                {
                    "unique_id": problem.unique_id,
                    "gold": problem.gold,
                    "equivalence_vote": problem.responses[winner].answer,
                    "equivalence_vote_correct": problem.responses[winner].verdict,
                    "votes": sum(c == classes[winner] for c in classes),
                    "string_vote": problem.responses[by_string].answer,
                    "string_vote_correct": problem.responses[by_string].verdict,
                    "string_votes": sum(r.answer == problem.responses[by_string].answer for r in problem.responses),
                }
            )
    shares = [verdict_share(p) for p in problems]
    table: dict[str, Any] = {"n": n, "k": ks, f"avg@{n}": math.fsum(shares) / len(shares)}
    for name, values in (("pass@k", passes), ("maj@k", firsts), ("maj_avg@k", subsets)):
        matrix = np.asarray(values, dtype=float)
        lows, highs = bootstrap_means(matrix)
        table[name] = {
            str(k): {"mean": float(mean), "low": float(low), "high": float(high)}
            for k, mean, low, high in zip(ks, matrix.mean(axis=0), lows, highs, strict=True)
        }
    errors = np.sqrt((np.asarray(subset_errors) ** 2).sum(axis=0)) / len(problems)
    for k, error in zip(ks, errors, strict=True):
        table["maj_avg@k"][str(k)]["monte_carlo_stderr"] = float(error)
    table["maj_avg_exact"] = exact
    table[f"string_maj@{n}"] = fmean(string_right)
    table["vote_differences"] = differ
    return table


def _vote_right(classes: Sequence[int]) -> float:
    winner = majority(classes)
    return float(winner is not None and classes[winner] == CORRECT)


def reward_categories(problems: Sequence[Problem]) -> dict[str, int]:
    """The r1_zero reward categories over every response (CS336's three, the third split in two)."""
    responses = [r for p in problems for r in p.responses]
    return {
        "format and answer right (reward 1)": sum(r.format_ok and r.correct for r in responses),
        "format right, answer wrong": sum(r.format_ok and not r.correct for r in responses),
        "format wrong, answer right (reward 0)": sum(not r.format_ok and r.correct for r in responses),
        "format and answer wrong": sum(not r.format_ok and not r.correct for r in responses),
    }


def length_table(problems: Sequence[Problem], lengths: Lengths) -> dict[str, dict[str, float]]:
    """Response length in tokens for responses the verdict counts right and wrong: count, mean, median."""
    by: dict[str, list[int]] = {"right": [], "wrong": []}
    for problem, counts in zip(problems, lengths.counts, strict=True):
        for response, count in zip(problem.responses, counts, strict=True):
            by["right" if response.verdict else "wrong"].append(count)
    return {
        key: {"count": len(v), "mean": fmean(v) if v else 0.0, "median": float(median(v)) if v else 0.0}
        for key, v in by.items()
    }


def length_bins(problems: Sequence[Problem], lengths: Lengths) -> list[dict[str, Any]]:
    """The verdict's rate in response-length bins of about equal counts, with Wilson intervals
    over the responses in each bin."""
    tokens = np.asarray([c for counts in lengths.counts for c in counts])
    right = np.asarray([r.verdict for p in problems for r in p.responses])
    edges = np.unique(np.quantile(tokens, np.linspace(0, 1, LENGTH_BINS + 1)).round())
    if len(edges) < 2:
        edges = np.array([tokens.min(), tokens.max() + 1])
    bins = []
    for i, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        inside = (tokens >= low) & ((tokens <= high) if i == len(edges) - 2 else (tokens < high))
        count, hits = int(inside.sum()), int(right[inside].sum())
        if count:
            interval = wilson(hits, count)
            bins.append({"tokens": [int(low), int(high)], "count": count, "mean": hits / count, "low": interval[0], "high": interval[1]})
    return bins


def filter_report(
    task: TaskRun, filter_name: str, problems: list[Problem], lengths: Lengths, budget: Budget, counter: TokenCounter,
    efficiency: bool = False,
) -> dict[str, Any]:
    """Every number of the report for one task under one filter; with ``efficiency`` the reasoning
    efficiency too, the one table that grades (each paragraph of the right responses)."""
    responses = [r for p in problems for r in p.responses]
    samples = len(problems[0].responses)
    metric = task.verdict_metric(filter_name)
    out: dict[str, Any] = {
        "verdict_metric": metric,
        "problems": len(problems),
        "responses": len(responses),
        "samples_per_problem": samples,
        "interval": interval_name(samples),
        "verdict": vars(estimate([verdict_share(p) for p in problems], samples)),
        "accuracy": vars(estimate([fmean(r.correct for r in p.responses) for p in problems], samples)),
        "rates": {
            "format_ok": fmean(r.format_ok for r in responses),
            "unfinished": fmean(r.unfinished for r in responses),
            "budget_reached": fmean(r.budget_reached for r in responses) if budget.measured else None,
            "grader_timeouts": fmean(r.timed_out for r in responses),
            "no_answer": fmean(r.answer is None for r in responses),
        },
        "length": length_table(problems, lengths),
        "length_bins": length_bins(problems, lengths),
        "level": grouped(problems, "level", samples),
        "subject": grouped(problems, "subject", samples),
    }
    if efficiency:
        out["efficiency"] = efficiency_tables(measure(problems, counter, lengths.counts))
    if task.filter_settings(filter_name).get("variant") == "r1_zero":
        out["reward_categories"] = reward_categories(problems)
    if samples > 1:
        out["solve_rates"] = {str(c): n for c, n in sorted(Counter(sum(r.verdict for r in p.responses) for p in problems).items())}
        out["sampling"] = sampling_table(problems, format_counts=metric == "answer_reward")
    return out


def draw(numbers: Mapping[str, Any], problems: Sequence[Problem], lengths: Lengths, budget: Budget, caption: plots.Caption, folder: Path) -> list[str]:
    """Every plot of one task under one filter; returns the file names written (PNG and SVG), each
    named after the task and filter made one path component."""
    stem = path_component(f"{caption.task}_{caption.filter_name}", "the task and filter name")
    metric = numbers["verdict_metric"]
    samples = numbers["samples_per_problem"]
    value = f"{metric} (avg@{samples})" if samples > 1 else metric
    interval = numbers["interval"]
    written = []

    def groups(table: Mapping[str, Mapping[str, float]], names: Sequence[str] | None = None) -> plots.Groups:
        keys = list(table)
        return plots.Groups(
            names or keys, [table[k]["mean"] for k in keys], [table[k]["low"] for k in keys],
            [table[k]["high"] for k in keys], [table[k]["count"] for k in keys],
        )  # fmt: skip

    if numbers["level"]:
        written += plots.plot_groups(folder, f"{stem}_level", caption, f"{metric} by MATH level", groups(numbers["level"]), ("level", value), interval)
        written += plots.plot_groups(
            folder, f"{stem}_subject", caption, f"{metric} by subject", groups(numbers["subject"]), ("subject", value), interval, horizontal=True
        )  # fmt: skip
    right = [c for p, cs in zip(problems, lengths.counts) for r, c in zip(p.responses, cs) if r.verdict]
    wrong = [c for p, cs in zip(problems, lengths.counts) for r, c in zip(p.responses, cs) if not r.verdict]
    written += plots.plot_token_histogram(folder, f"{stem}_tokens", caption, right, wrong, lengths.label, budget.tokens, metric)
    bins = {f"{b['tokens'][0]:,}–{b['tokens'][1]:,}": b for b in numbers["length_bins"]}
    written += plots.plot_groups(
        folder, f"{stem}_by_length", caption, f"{metric} by response length", groups(bins),
        (lengths.label + ", bins of about equal counts", f"{metric} (share of responses)"), "95% Wilson interval over responses",
    )  # fmt: skip
    if "reward_categories" in numbers:
        written += plots.plot_categories(folder, f"{stem}_rewards", caption, numbers["reward_categories"])
    if "sampling" in numbers:
        s = numbers["sampling"]
        curves = {
            name: tuple([s[key][str(k)][part] for k in s["k"]] for part in ("mean", "low", "high"))
            for name, key in (("pass@k", "pass@k"), ("maj@k, first k samples", "maj@k"), ("maj_avg@k, every k-subset", "maj_avg@k"))
        }
        written += plots.plot_sampling(folder, f"{stem}_sampling", caption, s["k"], curves, s[f"avg@{s['n']}"], metric)
        counts = [sum(r.verdict for r in p.responses) for p in problems]
        written += plots.plot_solve_rates(folder, f"{stem}_solve_rates", caption, counts, samples, metric)
    return written


def build_report(
    run: Run, out_dir: Path, counter: TokenCounter, efficiency: bool = False
) -> tuple[dict[str, Any], dict[tuple[str, str], tuple[list[Problem], list[list[int]]]], list[Pending[list[str]]]]:
    """Compute every task's numbers (with ``efficiency``, the reasoning efficiency too) and start
    drawing its plots into ``out_dir`` in the background; return the numbers, by (task, filter) the
    problems read with their responses' token counts, and the drawings, which :func:`plots_drawn`
    waits for."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"results_file": str(run.results_file), "model": run.model, "tasks": {}}
    read: dict[tuple[str, str], tuple[list[Problem], list[list[int]]]] = {}
    drawings = []
    for name, task in run.tasks.items():
        if not task.filters:  # none of these tasks'
            raise RunReadError(f"task {name} of {run.results_file} has no filters; report a run of these tasks")
        entry: dict[str, Any] = {"repeats": task.repeats, "max_gen_toks": task.generation_kwargs.get("max_gen_toks"), "filters": {}, "plots": []}
        lengths = None
        for filter_name in task.filters:
            problems = task.problems(filter_name)
            lengths = lengths or response_lengths(problems, counter)
            read[name, filter_name] = problems, lengths.counts
            budget = run_budget(run, task, problems)
            entry["budget"] = {"tokens": budget.tokens, "measured": budget.measured, "note": budget.note}
            entry["tokens"] = lengths.source
            numbers = filter_report(task, filter_name, problems, lengths, budget, counter, efficiency)
            entry["filters"][filter_name] = numbers
            caption = plots.Caption(run.model, name, filter_name)
            drawings.append(in_background(draw, numbers, problems, lengths, budget, caption, out_dir))
        report["tasks"][name] = entry
    return report, read, drawings


def plots_drawn(report: dict[str, Any], drawings: Sequence[Pending[list[str]]]) -> None:
    """Wait for the drawings :func:`build_report` started and list their files under each task, in order."""
    names = iter(drawings)
    for entry in report["tasks"].values():
        for _ in entry["filters"]:
            entry["plots"] += next(names).result()


def code_cell(text: str | None) -> str:
    """An answer as inline code in a Markdown table cell (pipes escaped), or "none"."""
    return "none" if text is None else "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _pct(value: float | None) -> str:
    return "not measured" if value is None else f"{100 * value:.1f}%"


def _interval(cell: Mapping[str, float]) -> str:
    return f"[{cell['low']:.3f}, {cell['high']:.3f}]"


def sampling_lines(s: Mapping[str, Any], metric: str) -> list[str]:
    """The sampling table and what its rows mean."""
    ks = [str(k) for k in s["k"]]
    lines = [f"| {metric}, k = | " + " | ".join(ks) + " |", "|---" * (len(ks) + 1) + "|"]
    lines.append("| pass@k | " + " | ".join(f"{s['pass@k'][k]['mean']:.3f}" for k in ks) + " |")
    lines.append("| maj@k (first k samples) | " + " | ".join(f"{s['maj@k'][k]['mean']:.3f}" for k in ks) + " |")
    lines.append("| maj_avg@k (every k-subset) | " + " | ".join(f"{s['maj_avg@k'][k]['mean']:.3f}" for k in ks) + " |")
    worst = max(s["maj_avg@k"][k]["monte_carlo_stderr"] for k in ks)
    method = (
        "counted over every k-subset"
        if s["maj_avg_exact"]
        else f"counted over every k-subset where they are few, else estimated from random k-subsets (Monte-Carlo standard error at most {worst:.4f})"
    )
    n = s["n"]
    string_key = f"string_maj@{n}"
    average = s[f"avg@{n}"]
    return lines + [
        "",
        f"avg@{n} = {average:.3f}. pass@k is the unbiased estimator (Chen et al., 2021). "
        "maj@k is the majority vote of the first k samples, as lm-eval and Qwen2.5-Math count it; answers the "
        "grader finds equal vote together and a tie goes to the answer sampled first, so with two samples the "
        "vote is the first sample's answer and maj@2 equals maj@1 unless a first sample has no answer. "
        f"maj_avg@k is the same vote averaged over k-subsets of the {n} samples, with a tie counted as the "
        f"right answer's share of it, so it does not depend on the order the samples were drawn in ({method}); "
        f"its maj_avg@1 and maj_avg@2 both equal avg@{n} when every sample has an answer. "
        f"A vote on exact answer strings gives {string_key} = {s[string_key]:.3f}; problems where the two votes "
        f"pick different answers: {len(s['vote_differences'])}.",
        "",
    ]


def render(report: Mapping[str, Any]) -> str:
    """The report as Markdown."""
    lines = [f"# Report: {report['model']}", "", f"Run: `{report['results_file']}`", ""]
    for name, task in report["tasks"].items():
        budget = task["budget"]
        tokens = task["tokens"]
        token_note = (
            "Token counts are **estimated** (the run did not count them and the model's tokenizer could not be loaded; pass --tokenizer)."
            if tokens == "estimate"
            else "Token counts are the run's own." if tokens == "run" else f"Token counts use the tokenizer `{tokens}`."
        )
        budget_text = f"token budget {budget['tokens']:,}" if budget["tokens"] else "token budget unknown"
        lines += [f"## {name}", "", f"{task['repeats']} sample(s) per problem; {budget_text}. {token_note}", ""]
        if not budget["measured"]:
            lines += [f"budget_reached is {budget['note']}.", ""]
        lines += [
            "| filter | problems | verdict | value ± s.e. | 95% interval | accuracy (answer only) | format_ok | unfinished | budget_reached | grader timeouts | no answer |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for filter_name, f in task["filters"].items():
            r = f["rates"]
            lines.append(
                f"| {filter_name} | {f['problems']} | {f['verdict_metric']} | {verdict_cell(f['verdict'])} | {_interval(f['verdict'])} "
                f"| {f['accuracy']['mean']:.3f} | {_pct(r['format_ok'])} | {_pct(r['unfinished'])} | {_pct(r['budget_reached'])} "
                f"| {_pct(r['grader_timeouts'])} | {_pct(r['no_answer'])} |"
            )
        first = next(iter(task["filters"].values()))
        lines += ["", f"Intervals: {first['interval']}.", ""]
        for filter_name, f in task["filters"].items():
            metric = f["verdict_metric"]
            lines += [f"### {name}, filter `{filter_name}` ({metric})", ""]
            if "sampling" in f:
                lines += sampling_lines(f["sampling"], metric)
                s = f["sampling"]
                if s["vote_differences"]:
                    lines += ["| problem | gold | equivalence vote (votes) | right | string vote (votes) | right |", "|---|---|---|---|---|---|"]
                    for d in s["vote_differences"]:
                        lines.append(
                            f"| {d['unique_id']} | {code_cell(d['gold'])} | {code_cell(d['equivalence_vote'])} ({d['votes']}) | {d['equivalence_vote_correct']} "
                            f"| {code_cell(d['string_vote'])} ({d['string_votes']}) | {d['string_vote_correct']} |"
                        )
                    lines.append("")
                solved = f["solve_rates"]
                lines += [f"Problems by how many of their {s['n']} samples are right: "
                          + ", ".join(f"{c}/{s['n']}: {n}" for c, n in solved.items()) + ".", ""]  # fmt: skip
            for by in ("level", "subject"):
                if f[by]:
                    lines += [f"| {by} | problems | {metric} ± s.e. | 95% interval |", "|---|---|---|---|"]
                    lines += [f"| {key} | {cell['count']} | {verdict_cell(cell)} | {_interval(cell)} |" for key, cell in f[by].items()]
                    lines.append("")
            if "reward_categories" in f:
                lines += ["| r1_zero reward category | responses |", "|---|---|"]
                lines += [f"| {key} | {value} |" for key, value in f["reward_categories"].items()]
                lines.append("")
            unit = "estimated tokens" if tokens == "estimate" else "tokens"
            lines += [f"| {metric} | responses | mean {unit} | median {unit} |", "|---|---|---|---|"]
            lines += [f"| {key} | {c['count']} | {c['mean']:.0f} | {c['median']:.0f} |" for key, c in f["length"].items()]
            lines += ["", f"| {unit} | responses | {metric} | 95% Wilson interval |", "|---|---|---|---|"]
            lines += [f"| {b['tokens'][0]}–{b['tokens'][1]} | {b['count']} | {b['mean']:.3f} | {_interval(b)} |" for b in f["length_bins"]]
            lines.append("")
            if "efficiency" not in f:
                continue
            eff = f["efficiency"]
            header = " | ".join(m.replace("_", " ") + (" (estimated)" if tokens == "estimate" and m.endswith("tokens") else "") for m in MEASURES)
            lines += [f"Reasoning efficiency (means per response; right and wrong by {metric}):", "", f"| group | responses | {header} |",
                      "|---" * (len(MEASURES) + 2) + "|"]  # fmt: skip
            for section in ("overall", "answer", "level"):
                for key, cell in eff[section].items():
                    label = key if section != "level" else f"level {key}"
                    values = " | ".join(f"{cell[m]:.3f}" if m == "token_efficiency" else f"{cell[m]:.1f}" for m in MEASURES) if cell["count"] else " | ".join("" for _ in MEASURES)
                    lines.append(f"| {label} | {cell['count']} | {values} |")
            lines.append("")
        lines += [f"![{plot}]({plot})" for plot in task["plots"] if plot.endswith(".png")] + [""]
    return "\n".join(lines)


def write_report(
    run_path: str | Path,
    out_dir: str | Path | None = None,
    tokenizer: str | None = None,
    regrade: bool = False,
    efficiency: bool = False,
) -> Path:
    """Write ``report.md``, ``report.json``, ``report.html`` and the plots for the run at
    ``run_path``; return report.md. With ``regrade`` its responses are graded again with today's
    grader; with ``efficiency`` the report adds the reasoning-efficiency table, which grades each
    paragraph of the right responses (seconds per ten thousand responses), where the rest of the
    report only reads what the run recorded.

    Every file goes into ``out_dir`` (default: the results file's folder), plots named after
    their task and filter made one path component. A folder holding several runs is refused with
    their list (:func:`~lm_eval_math500.analysis.samples.find_results`): a report is one run's,
    and runs side by side are what ``compare`` pairs problem by problem. A folder that cannot be
    written is a :class:`RunReadError` naming it.
    """
    from lm_eval_math500.analysis.report_html import problem_views, write_html

    run = read_run(run_path, regrade=regrade)
    out = Path(out_dir) if out_dir else run.results_file.parent
    counter = token_counter(tokenizer or model_tokenizer_name(run.raw.get("config") or {}))
    try:
        report, problems, drawings = build_report(run, out, counter, efficiency)
        views = problem_views(report, problems)  # while the plots are drawn
        plots_drawn(report, drawings)
        (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        path = out / "report.md"
        path.write_text(render(report), encoding="utf-8")
        write_html(report, views, out)
    except OSError as error:
        raise RunReadError(
            f"cannot write the report into {out} ({error.strerror}); pass --out a folder you can write to"
        ) from None
    return path
