"""``lm-eval-math500 report RUN_DIR``: a readable report of a finished run, with plots.

Every response is regraded through :mod:`lm_eval_math500.analysis.samples`; the report folder gets
``report.md``, ``report.json`` (the same numbers, for scripts) and PNG plots. Accuracy is avg@n
(each problem's share of right samples, averaged over problems) with the standard error of that
mean over problems, as lm-eval reports it.
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

from tqdm import tqdm

from lm_eval_math500.analysis.efficiency import MEASURES, efficiency_tables, measure
from lm_eval_math500.analysis.samples import Problem, Run, TaskRun, read_run
from lm_eval_math500.analysis.tokens import TokenCounter, model_tokenizer_name, token_counter
from lm_eval_math500.harness.sampling import CORRECT, answer_classes, ladder, majority, pass_at_k

FIGSIZE = (8.0, 4.5)  # inches at DPI: every plot is 800 x 450 pixels
DPI = 100


@dataclass(frozen=True)
class Estimate:
    """A mean over problems and its standard error."""

    mean: float
    stderr: float
    count: int


def estimate(values: Sequence[float]) -> Estimate:
    """Mean, standard error of the mean (0 for one value) and count."""
    se = stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return Estimate(fmean(values), se, len(values))


def accuracy_of(problem: Problem) -> float:
    """The problem's share of right samples."""
    return fmean(r.correct for r in problem.responses)


def grouped(problems: Sequence[Problem], by: str) -> dict[str, dict[str, float]]:
    """Accuracy (avg@n) with standard error and count per value of the doc field ``by``."""
    groups: dict[Any, list[float]] = {}
    for problem in problems:
        if problem.doc.get(by) is not None:
            groups.setdefault(problem.doc[by], []).append(accuracy_of(problem))
    return {str(key): vars(estimate(groups[key])) for key in sorted(groups)}


def string_vote(problem: Problem) -> int | None:
    """The index of the first sample of the most frequent answer string (ties: earliest), or None."""
    answers = [r.answer for r in problem.responses]
    votes = Counter(a for a in answers if a)
    if not votes:
        return None
    best = max(votes, key=lambda a: (votes[a], -answers.index(a)))
    return answers.index(best)


def sampling_table(problems: Sequence[Problem]) -> dict[str, Any]:
    """pass@k and maj@k (equivalence vote, first k samples) for k on the ladder, and the problems
    where a vote on exact answer strings picks an answer the equivalence vote does not."""
    n = len(problems[0].responses)
    passes = {k: fmean(pass_at_k(n, sum(r.correct for r in p.responses), k) for p in problems) for k in ladder(n)}
    majorities: dict[int, list[bool]] = {k: [] for k in ladder(n)}
    differ = []
    string_right = []
    for problem in problems:
        classes = answer_classes([r.answer for r in problem.responses], [r.correct for r in problem.responses])
        for k in ladder(n):
            winner = majority(classes[:k])
            majorities[k].append(winner is not None and classes[winner] == CORRECT)
        winner, by_string = majority(classes), string_vote(problem)
        string_right.append(by_string is not None and problem.responses[by_string].correct)
        if winner is not None and by_string is not None and classes[winner] != classes[by_string]:
            differ.append(
                {
                    "unique_id": problem.unique_id,
                    "gold": problem.gold,
                    "equivalence_vote": problem.responses[winner].answer,
                    "equivalence_vote_correct": problem.responses[winner].correct,
                    "votes": sum(c == classes[winner] for c in classes),
                    "string_vote": problem.responses[by_string].answer,
                    "string_vote_correct": problem.responses[by_string].correct,
                    "string_votes": sum(r.answer == problem.responses[by_string].answer for r in problem.responses),
                }
            )
    return {
        "pass@k": {str(k): v for k, v in passes.items()},
        "maj@k": {str(k): fmean(v) for k, v in majorities.items()},
        f"string_maj@{n}": fmean(string_right),
        "vote_differences": differ,
    }


def reward_categories(problems: Sequence[Problem]) -> dict[str, int]:
    """The r1_zero reward categories over every response (CS336's three, the third split in two)."""
    responses = [r for p in problems for r in p.responses]
    return {
        "format and answer right (reward 1)": sum(r.format_ok and r.correct for r in responses),
        "format right, answer wrong": sum(r.format_ok and not r.correct for r in responses),
        "format wrong, answer right (reward 0)": sum(not r.format_ok and r.correct for r in responses),
        "format and answer wrong": sum(not r.format_ok and not r.correct for r in responses),
    }


def length_table(problems: Sequence[Problem], tokens: Sequence[Sequence[int]]) -> dict[str, dict[str, float]]:
    """Response length in tokens for right and wrong answers: count, mean, median."""
    by = {"right": [], "wrong": []}
    for problem, counts in zip(problems, tokens, strict=True):
        for response, count in zip(problem.responses, counts, strict=True):
            by["right" if response.correct else "wrong"].append(count)
    return {
        key: {"count": len(v), "mean": fmean(v) if v else 0.0, "median": float(median(v)) if v else 0.0}
        for key, v in by.items()
    }


def filter_report(
    task: TaskRun, filter_name: str, counter: TokenCounter, tokens: Sequence[Sequence[int]], problems: list[Problem]
) -> dict[str, Any]:
    """Every number of the report for one task under one filter."""
    responses = [r for p in problems for r in p.responses]
    max_tokens = task.generation_kwargs.get("max_gen_toks")
    flat_tokens = [c for counts in tokens for c in counts]
    out: dict[str, Any] = {
        "problems": len(problems),
        "responses": len(responses),
        "accuracy": vars(estimate([accuracy_of(p) for p in problems])),
        "format_rate": fmean(r.format_ok for r in responses),
        "answer_not_found_rate": fmean(r.answer is None for r in responses),
        "truncation_rate": fmean(c >= max_tokens for c in flat_tokens) if max_tokens else None,
        "length": length_table(problems, tokens),
        "level": grouped(problems, "level"),
        "subject": grouped(problems, "subject"),
        "efficiency": efficiency_tables(measure(problems, counter, tokens)),
    }
    if task.filter_settings(filter_name).get("variant") == "r1_zero":
        out["reward_categories"] = reward_categories(problems)
    if task.repeats > 1:
        out["sampling"] = sampling_table(problems)
    return out


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    return plt, figure, axes


def _save(plt, figure, path: Path) -> str:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path.name


def plot_groups(table: Mapping[str, Mapping[str, float]], title: str, path: Path) -> str:
    """Bar chart of accuracy per group with standard-error bars and the count on each bar."""
    plt, figure, axes = _figure()
    names = list(table)
    means = [table[n]["mean"] for n in names]
    bars = axes.bar(range(len(names)), means, yerr=[table[n]["stderr"] for n in names], capsize=4, color="#4878a8")
    for bar, name in zip(bars, names, strict=True):
        top = table[name]["mean"] + table[name]["stderr"]
        axes.annotate(f"n={table[name]['count']}", (bar.get_x() + bar.get_width() / 2, min(top + 0.02, 0.98)), ha="center", fontsize=8)
    axes.set_xticks(range(len(names)), [n.replace("_", " ") for n in names], rotation=20 if len(names) > 5 else 0, fontsize=8)
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("accuracy (avg@n)")
    axes.set_title(title)
    return _save(plt, figure, path)


def plot_lengths(problems: Sequence[Problem], tokens: Sequence[Sequence[int]], title: str, path: Path) -> str:
    """Histograms of response length for right and wrong answers."""
    plt, figure, axes = _figure()
    right = [c for p, cs in zip(problems, tokens) for r, c in zip(p.responses, cs) if r.correct]
    wrong = [c for p, cs in zip(problems, tokens) for r, c in zip(p.responses, cs) if not r.correct]
    top = max([*right, *wrong, 1])
    bins = [top * i / 40 for i in range(41)]
    axes.hist([right, wrong], bins=bins, label=[f"right ({len(right)})", f"wrong ({len(wrong)})"], color=["#4c9a52", "#c0504d"])
    axes.set_xlabel("response tokens")
    axes.set_ylabel("responses")
    axes.legend()
    axes.set_title(title)
    return _save(plt, figure, path)


def plot_pass_at_k(sampling: Mapping[str, Any], title: str, path: Path) -> str:
    """pass@k and maj@k against k (log scale)."""
    plt, figure, axes = _figure()
    for key, style in (("pass@k", "o-"), ("maj@k", "s--")):
        ks = [int(k) for k in sampling[key]]
        axes.plot(ks, list(sampling[key].values()), style, label=key)
    axes.set_xscale("log", base=2)
    axes.set_xticks(ks, [str(k) for k in ks])
    axes.set_ylim(0, 1.05)
    axes.set_xlabel("k")
    axes.set_ylabel("share of problems")
    axes.legend()
    axes.set_title(title)
    return _save(plt, figure, path)


def response_tokens(problems: Sequence[Problem], counter: TokenCounter) -> list[list[int]]:
    """The token count of every response, per problem."""
    return [
        counter.count([r.text for r in problem.responses])
        for problem in tqdm(problems, desc="Counting tokens", unit="problem", leave=False)
    ]


def build_report(run: Run, out_dir: Path, counter: TokenCounter) -> dict[str, Any]:
    """Compute every task's numbers and draw its plots into ``out_dir``; return the numbers."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"results_file": str(run.results_file), "model": run.model, "tokens": counter.source, "tasks": {}}
    for name, task in run.tasks.items():
        entry: dict[str, Any] = {"repeats": task.repeats, "max_gen_toks": task.generation_kwargs.get("max_gen_toks"), "filters": {}, "plots": []}
        tokens = None
        for filter_name in task.filters:
            problems = task.problems(filter_name)
            tokens = tokens or response_tokens(problems, counter)
            numbers = filter_report(task, filter_name, counter, tokens, problems)
            entry["filters"][filter_name] = numbers
            stem = f"{name}_{filter_name}"
            title = f"{name} ({filter_name})"
            if numbers["level"]:
                entry["plots"].append(plot_groups(numbers["level"], f"{title}: accuracy by level", out_dir / f"{stem}_level.png"))
                entry["plots"].append(plot_groups(numbers["subject"], f"{title}: accuracy by subject", out_dir / f"{stem}_subject.png"))
            entry["plots"].append(plot_lengths(problems, tokens, f"{title}: response length", out_dir / f"{stem}_length.png"))
            if "sampling" in numbers:
                entry["plots"].append(plot_pass_at_k(numbers["sampling"], f"{title}: pass@k and maj@k", out_dir / f"{stem}_pass_at_k.png"))
        report["tasks"][name] = entry
    return report


def code_cell(text: str | None) -> str:
    """An answer as inline code in a Markdown table cell (pipes escaped), or "none"."""
    return "none" if text is None else "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _mean_se(cell: Mapping[str, float]) -> str:
    return f"{cell['mean']:.3f} ± {cell['stderr']:.3f}"


def render(report: Mapping[str, Any]) -> str:
    """The report as Markdown."""
    estimated = report["tokens"] == "estimate"
    token_note = (
        "Token counts are **estimated** (the model's tokenizer could not be loaded; pass --tokenizer)."
        if estimated
        else f"Token counts use the tokenizer `{report['tokens']}`."
    )
    lines = [f"# Report: {report['model']}", "", f"Run: `{report['results_file']}`", "", token_note, ""]
    for name, task in report["tasks"].items():
        lines += [f"## {name}", "", f"{task['repeats']} sample(s) per problem, max_gen_toks {task['max_gen_toks']}.", ""]
        lines += ["| filter | problems | accuracy (avg@n) ± s.e. | format | answer not found | truncated |", "|---|---|---|---|---|---|"]
        for filter_name, f in task["filters"].items():
            truncated = _pct(f["truncation_rate"]) + (" (estimated)" if estimated and f["truncation_rate"] is not None else "")
            lines.append(
                f"| {filter_name} | {f['problems']} | {_mean_se(f['accuracy'])} | {_pct(f['format_rate'])} "
                f"| {_pct(f['answer_not_found_rate'])} | {truncated} |"
            )
        lines.append("")
        for filter_name, f in task["filters"].items():
            lines += [f"### {name}, filter `{filter_name}`", ""]
            if "sampling" in f:
                s = f["sampling"]
                ks = list(s["pass@k"])
                lines += ["| k | " + " | ".join(ks) + " |", "|---" * (len(ks) + 1) + "|"]
                lines.append("| pass@k | " + " | ".join(f"{s['pass@k'][k]:.3f}" for k in ks) + " |")
                lines.append("| maj@k | " + " | ".join(f"{s['maj@k'][k]:.3f}" for k in ks) + " |")
                string_key = next(k for k in s if k.startswith("string_maj@"))
                lines += ["", f"maj@k votes answers the grader finds equal together, over the first k samples; "
                          f"a vote on exact answer strings gives {string_key} = {s[string_key]:.3f}. "
                          f"Problems where the two votes pick different answers: {len(s['vote_differences'])}.", ""]
                if s["vote_differences"]:
                    lines += ["| problem | gold | equivalence vote (votes) | right | string vote (votes) | right |", "|---|---|---|---|---|---|"]
                    for d in s["vote_differences"]:
                        lines.append(
                            f"| {d['unique_id']} | {code_cell(d['gold'])} | {code_cell(d['equivalence_vote'])} ({d['votes']}) | {d['equivalence_vote_correct']} "
                            f"| {code_cell(d['string_vote'])} ({d['string_votes']}) | {d['string_vote_correct']} |"
                        )
                    lines.append("")
            for by in ("level", "subject"):
                if f[by]:
                    lines += [f"| {by} | problems | accuracy ± s.e. |", "|---|---|---|"]
                    lines += [f"| {key} | {cell['count']} | {_mean_se(cell)} |" for key, cell in f[by].items()]
                    lines.append("")
            if "reward_categories" in f:
                lines += ["| r1_zero reward category | responses |", "|---|---|"]
                lines += [f"| {key} | {value} |" for key, value in f["reward_categories"].items()]
                lines.append("")
            lines += ["| answers | responses | mean tokens | median tokens |", "|---|---|---|---|"]
            lines += [f"| {key} | {c['count']} | {c['mean']:.0f} | {c['median']:.0f} |" for key, c in f["length"].items()]
            lines.append("")
            eff = f["efficiency"]
            lines += ["Reasoning efficiency (means per response):", "", "| group | responses | " + " | ".join(m.replace("_", " ") for m in MEASURES) + " |",
                      "|---" * (len(MEASURES) + 2) + "|"]
            for section in ("overall", "answer", "level"):
                for key, cell in eff[section].items():
                    label = key if section != "level" else f"level {key}"
                    values = " | ".join(f"{cell[m]:.3f}" if m == "token_efficiency" else f"{cell[m]:.1f}" for m in MEASURES) if cell["count"] else " | ".join("" for _ in MEASURES)
                    lines.append(f"| {label} | {cell['count']} | {values} |")
            lines.append("")
        lines += [f"![{plot}]({plot})" for plot in task["plots"]] + [""]
    return "\n".join(lines)


def write_report(
    run_path: str | Path, out_dir: str | Path | None = None, tokenizer: str | None = None, regrade: bool = False
) -> Path:
    """Write ``report.md``, ``report.json`` and the plots for the run at ``run_path``; return report.md.
    With ``regrade`` its responses are graded again with today's grader."""
    run = read_run(run_path, regrade=regrade)
    out = Path(out_dir) if out_dir else run.results_file.parent
    counter = token_counter(tokenizer or model_tokenizer_name(run.raw.get("config", {})))
    report = build_report(run, out, counter)
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    path = out / "report.md"
    path.write_text(render(report), encoding="utf-8")
    return path
