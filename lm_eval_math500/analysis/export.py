"""Per-sample export of an lm-eval samples file, in the layout of the original evaluation scripts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lm_eval_math500.harness.metrics import doc_verdict


def export_rows(samples_path: str | Path, filter_name: str | None = None) -> Iterator[dict[str, Any]]:
    """One row per problem: ``idx, unique_id, subject, level, problem, gold, pred, pred_text, correct,
    reason, format_ok``; ``reason`` is the grader's rule that decided ``correct``.

    ``filter_name`` picks the extraction filter (default: the file's first). Repeated samples give
    lists in ``pred``, ``pred_text``, ``correct`` and ``reason``; ``format_ok`` is then the fraction
    that passed.
    """
    with Path(samples_path).open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    filters = list(dict.fromkeys(row["filter"] for row in rows))
    if filter_name is None and filters:
        filter_name = filters[0]
    elif filter_name not in filters:
        raise ValueError(f"{samples_path} has no filter {filter_name!r}; it has {filters}")
    for row in sorted((r for r in rows if r["filter"] == filter_name), key=lambda r: r["doc_id"]):
        doc = row["doc"]
        texts = [text for group in row["resps"] for text in group]
        answers = [answer or None for group in row["filtered_resps"] for answer in group]
        single = len(texts) == 1
        verdicts = [doc_verdict(answer, doc) for answer in answers]

        def one_or_all(values: list[Any]) -> Any:
            return values[0] if single else values

        yield {
            "idx": row["doc_id"],
            "unique_id": doc.get("unique_id"),
            "subject": doc.get("subject"),
            "level": doc.get("level"),
            "problem": doc.get("problem"),
            "gold": doc.get("answer"),
            "pred": one_or_all(answers),
            "pred_text": one_or_all(texts),
            "correct": one_or_all([v.correct for v in verdicts]),
            "reason": one_or_all([v.reason for v in verdicts]),
            "format_ok": bool(row["format_ok"]) if single else row["format_ok"],
        }
