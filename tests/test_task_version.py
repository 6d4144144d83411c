"""The task version moves with the grader: a change of verdicts on a fixed sample set needs a new
`metadata.version` in tasks/_base.yaml, so a results file tells old grading from new."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from lm_eval_math500 import grade, grade_answer
from lm_eval_math500.grader.equivalence import TIME_LIMIT

BASE_YAML = Path(__file__).resolve().parents[1] / "tasks" / "_base.yaml"
# Headroom over the grader's limit so that a loaded machine does not turn a slow verdict into a
# timeout; the one graderbench answer Math-Verify never finishes times out either way.
TIMEOUT = 3 * TIME_LIMIT


class _TaskLoader(yaml.SafeLoader):
    """Reads task YAML, keeping `!function` references as plain strings."""


_TaskLoader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))


def _metadata() -> dict:
    return yaml.load(BASE_YAML.read_text(encoding="utf-8"), Loader=_TaskLoader)["metadata"]


def _verdicts(graderbench: Path) -> list[tuple[str, bool]]:
    """(row id, correct) for every graderbench row, graded as benchmarks/grader_accuracy.py grades it."""
    out = []
    for name in ("prm800k_labelled.jsonl", "processbench_labelled.jsonl"):
        with (graderbench / name).open(encoding="utf-8") as handle:
            for row in map(json.loads, handle):
                if "model_answer" in row:
                    verdict = grade_answer(row["model_answer"], row["gold_answer"], problem=row["problem"],
                                           timeout=TIMEOUT)
                else:
                    verdict = grade(row["model_solution"], row["gold_answer"], variant="question_only",
                                    problem=row["problem"], timeout=TIMEOUT)
                out.append((row["id"], verdict.correct))
    return out


def test_verdicts_match_the_digest_recorded_for_the_task_version(shared_data):
    verdicts = _verdicts(shared_data / "graderbench")
    assert len(verdicts) > 3000 and 0 < sum(ok for _, ok in verdicts) < len(verdicts)
    digest = hashlib.sha256(json.dumps(verdicts).encode()).hexdigest()
    metadata = _metadata()
    if digest != metadata["verdicts_sha256"]:
        pytest.fail(
            f"the grader's verdicts on graderbench changed (sha256 {digest}), but tasks/_base.yaml still "
            f"records those of version {metadata['version']}. Bump metadata.version there, add a dated "
            f"Changelog line for it in tasks/README.md, and set metadata.verdicts_sha256 to {digest}.",
            pytrace=False,
        )
