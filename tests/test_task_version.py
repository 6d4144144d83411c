"""The task version moves with the grader: a change of verdicts on a fixed sample set needs a new
`metadata.version` in tasks/_base.yaml, so a results file tells old grading from new.

The fixed set is graderbench (labelled answers and solutions) and the published model outputs of
the shared data folder (real responses, each graded whole against its gold with its problem), so
that a rule change which moves no labelled row but moves a real model's verdict is seen too."""

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


# Published runs in Qwen2.5-Math's layout (question, answer or gt, code: one response per sample) and in
# CS336's (prompt with the question, ground_truth: the reference solution, response).
QWEN_LAYOUT = (
    "qwen25_math_instruct__math_first100__cot_t0.7_n8__qwenlm.jsonl",
    "qwen25_math_7b_base__math500__qwen25mathcot_greedy_max32768__skythought.jsonl",
    "sky_t1_math_correct_5k_27b_gemma2__math500__skyt1_greedy_max32768__skythought.jsonl",
    "tora_70b__gsm8k_test__tora_greedy__microsoft_tora.jsonl",
)
CS336_LAYOUT = (
    "qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl",
    "qwen25_math_1.5b_instruct__math500__r1zero_t1.0_max1024__results.jsonl",
)


def _published_verdicts(published: Path) -> list[tuple[str, bool]]:
    """(file:line:sample, correct) for every response of the published runs, each graded whole."""
    from lm_eval_math500.harness.datasets import last_boxed

    out = []
    for name in QWEN_LAYOUT + CS336_LAYOUT:
        with (published / name).open(encoding="utf-8") as handle:
            for line, row in enumerate(map(json.loads, handle), start=1):
                if name in QWEN_LAYOUT:
                    problem, gold, responses = row["question"], str(row.get("answer", row["gt"])), row["code"]
                    variant = "question_only"
                else:
                    problem = row["prompt"].split("\nUser: ", 1)[1].rsplit("\nAssistant:", 1)[0]
                    gold, responses, variant = last_boxed(row["ground_truth"]) or "", [row["response"]], "r1_zero"
                for sample, response in enumerate(responses):
                    verdict = grade(response, gold, variant=variant, problem=problem, timeout=TIMEOUT)
                    out.append((f"{name}:{line}:{sample}", verdict.correct))
    return out


def test_verdicts_match_the_digest_recorded_for_the_task_version(shared_data):
    verdicts = _verdicts(shared_data / "graderbench")
    assert len(verdicts) > 3000 and 0 < sum(ok for _, ok in verdicts) < len(verdicts)
    published = _published_verdicts(shared_data / "published_runs")
    assert len(published) == 800 + 500 + 500 + 1319 + 500 + 500
    verdicts += published
    digest = hashlib.sha256(json.dumps(verdicts).encode()).hexdigest()
    metadata = _metadata()
    if digest != metadata["verdicts_sha256"]:
        pytest.fail(
            f"the grader's verdicts on graderbench and the published runs changed (sha256 {digest}), but tasks/_base.yaml still "
            f"records those of version {metadata['version']}. Bump metadata.version there, add a dated "
            f"Changelog line for it in tasks/README.md, and set metadata.verdicts_sha256 to {digest}.",
            pytrace=False,
        )
