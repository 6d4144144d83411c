"""Per-sample export of an lm-eval samples file, in the layout of the original evaluation scripts.

Every field comes from the record the run logged for each response (see :func:`export_rows`);
nothing is graded again, so an export always agrees with the run's metrics, unless ``regrade``
asks for today's grader instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lm_eval_math500.analysis.samples import (
    Problem,
    Response,
    RunReadError,
    read_run,
    read_samples_file,
    responses_of,
    results_file_of,
)
from lm_eval_math500.analysis.summary import verdict_metric


def read_samples(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a samples file of these tasks; anything else is a :class:`RunReadError` naming the line."""
    rows = read_samples_file(path)
    for number, row in enumerate(rows, start=1):
        if verdict_metric(row) is None:
            raise RunReadError(
                f"{path} is not a samples file of these tasks (row {number} has no accuracy); "
                "pass a samples_<task>_<time>.jsonl that a run of these tasks wrote with --log_samples"
            )
    return rows


def export_rows(samples_path: str | Path, filter_name: str | None = None, regrade: bool = False) -> list[dict[str, Any]]:
    """One row per problem, in doc order, for the chosen extraction filter (default: the file's first).

    Fields: ``idx, unique_id, subject, level, problem, gold, pred, pred_text, correct, reason, format_ok``.
    ``correct`` is the filter's verdict: ``answer_reward`` on r1_zero tasks (the answer counts only
    when that filter's format holds), ``accuracy`` on the others. With repeated samples, ``pred``,
    ``pred_text`` and ``reason`` are lists and ``correct`` and ``format_ok`` the fractions of repeats.
    With ``regrade`` the responses are extracted and graded again with today's grader (the run's
    results file, beside the samples file, names the task's filters).
    """
    rows = read_samples(samples_path)
    filters = list(dict.fromkeys(row["filter"] for row in rows))
    if filter_name is None:
        filter_name = filters[0]
    elif filter_name not in filters:
        raise RunReadError(
            f"{samples_path} has no filter {filter_name!r}; pass --filter one of {', '.join(filters)}"
        )
    chosen = sorted((row for row in rows if row["filter"] == filter_name), key=lambda row: row["doc_id"])
    counts_format = verdict_metric(chosen[0]) == "answer_reward"
    if regrade:
        task_name = Path(samples_path).name.removeprefix("samples_").rsplit("_", 1)[0]
        task = read_run(results_file_of(samples_path), regrade=True).task(task_name)
        return [_export_row(problem, counts_format) for problem in task.problems(filter_name)]
    return [
        _export_row(Problem(row["doc_id"], row["doc"], "", tuple(responses_of(row, samples_path))), counts_format)
        for row in chosen
    ]


def _reason(response: Response, counts_format: bool) -> str:
    """The grader's reason, after a failed format check where the format counts."""
    if counts_format and not response.format_ok:
        return f"format check failed; the answer: {response.reason}"
    return response.reason


def _export_row(problem: Problem, counts_format: bool) -> dict[str, Any]:
    responses = problem.responses
    single = len(responses) == 1
    verdicts = [r.verdict for r in responses]
    formats = [r.format_ok for r in responses]
    return {
        "idx": problem.doc_id,
        "unique_id": problem.doc.get("unique_id"),
        "subject": problem.subject,
        "level": problem.level,
        "problem": problem.doc.get("problem"),
        "gold": problem.doc.get("answer"),
        "pred": responses[0].answer if single else [r.answer for r in responses],
        "pred_text": responses[0].text if single else [r.text for r in responses],
        "correct": verdicts[0] if single else sum(verdicts) / len(verdicts),
        "reason": _reason(responses[0], counts_format) if single else [r.reason for r in responses],
        "format_ok": formats[0] if single else sum(formats) / len(formats),
    }
