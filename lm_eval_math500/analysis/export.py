"""Per-sample export of an lm-eval samples file, in the layout of the original evaluation scripts.

``correct`` is the verdict the run recorded for the chosen filter (see :func:`export_rows`); nothing
is graded again here, so an export always agrees with the run's metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lm_eval_math500.analysis.samples import RunReadError, read_samples_file
from lm_eval_math500.analysis.summary import verdict_metric
from lm_eval_math500.harness.metrics import doc_verdict

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


def export_rows(samples_path: str | Path, filter_name: str | None = None) -> list[dict[str, Any]]:
    """One row per problem, in doc order, for the chosen extraction filter (default: the file's first).

    Fields: ``idx, unique_id, subject, level, problem, gold, pred, pred_text, correct, reason, format_ok``.
    ``correct`` is the filter's recorded verdict: ``answer_reward`` on r1_zero tasks (the answer
    counts only when that filter's format holds), ``accuracy`` on the others. With repeated samples,
    ``pred``, ``pred_text`` and ``reason`` are lists and ``correct`` and ``format_ok`` the fractions of repeats.
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
    return [_export_row(row) for row in chosen]


def _export_row(row: dict[str, Any]) -> dict[str, Any]:
    doc = row["doc"]
    texts = [text for group in row["resps"] for text in group]
    answers = [answer or None for group in row["filtered_resps"] for answer in group]
    single = len(texts) == 1
    metric = verdict_metric(row)
    verdict = row[metric]
    reasons = [doc_verdict(answer, doc).reason for answer in answers]
    if single and metric == "answer_reward" and not row["format_ok"]:
        reasons = [f"format check failed; the answer: {reasons[0]}"]
    return {
        "idx": row["doc_id"],
        "unique_id": doc.get("unique_id"),
        "subject": doc.get("subject"),
        "level": doc.get("level"),
        "problem": doc.get("problem"),
        "gold": doc.get("answer"),
        "pred": answers[0] if single else answers,
        "pred_text": texts[0] if single else texts,
        "correct": bool(verdict) if single else verdict,
        "reason": reasons[0] if single else reasons,
        "format_ok": bool(row["format_ok"]) if single else row["format_ok"],
    }
