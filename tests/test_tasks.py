"""The tasks end to end through lm-eval, fed saved generations by the replay model."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import lm_eval
import pytest
from lm_eval.tasks import TaskManager

from conftest import SHARED_DATA
from lm_eval_math500.cli import tasks_dir
from lm_eval_math500.grader.formats import DEEPTHINK, TASK_VARIANTS
from lm_eval_math500.harness.metrics import doc_verdict
from lm_eval_math500.harness.replay import MissingGenerationError, ReplayLM, problem_key
from lm_eval_math500.harness.task import BOXED_INSTRUCTION

RUNS = SHARED_DATA / "published_runs"
BASE_RUN = RUNS / "qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl"
INSTRUCT_RUN = RUNS / "qwen25_math_1.5b_instruct__math500__r1zero_t1.0_max1024__results.jsonl"
DATASETS = ("math500", "gsm8k", "math_validation")
VARIANTS = tuple(TASK_VARIANTS)
TASKS = [f"{dataset}_{variant}" for dataset in DATASETS for variant in VARIANTS] + ["math500_boxed_n4", "math500_boxed_n64"]
GROUPS = [f"{name}_all" for name in (*DATASETS, *VARIANTS)]


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def replay(path: Path, task: str, *, keep_stop: bool = False, limit: int | None = None, **metadata) -> dict:
    """Run one task through lm-eval with the replay model on the local data; return lm-eval's results."""
    manager = TaskManager(
        include_path=str(tasks_dir()),
        include_defaults=False,
        metadata={"data_dir": str(SHARED_DATA), **metadata},
    )
    return lm_eval.simple_evaluate(
        model=ReplayLM(path=str(path), keep_stop=keep_stop),
        tasks=[task],
        task_manager=manager,
        limit=limit,
        log_samples=True,
        bootstrap_iters=0,
    )


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """``rows`` as JSON lines; records are written as lm-eval writes them, as their ``str``."""
    path.write_text("".join(json.dumps(row, default=str) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.mark.slow
def test_tasks_and_groups_are_listed_and_do_not_collide_with_builtins():
    ours = TaskManager(include_path=str(tasks_dir()), include_defaults=False)
    assert set(TASKS) <= set(ours.all_tasks)
    assert set(GROUPS) <= set(ours.all_groups)
    builtin = set(TaskManager().all_tasks)
    assert not builtin & set(TASKS + GROUPS)


@pytest.fixture(scope="module")
def task_index() -> dict:
    """lm-eval's index of our task YAML: each task's config with its includes merged."""
    return TaskManager(include_path=str(tasks_dir()), include_defaults=False).task_index


@pytest.mark.parametrize("task", TASKS)
def test_task_yaml_matches_its_prompt_format(task_index, task):
    """Stop strings, prefill, filter variant and the tags the prompt names all come from formats.py;
    every filter names its verdict metric: answer_reward on r1_zero, accuracy elsewhere."""
    config = task_index[task].cfg
    (fmt,) = [f for suffix, f in TASK_VARIANTS.items() if task.removesuffix("_n4").removesuffix("_n64").endswith(f"_{suffix}")]
    assert config["generation_kwargs"]["until"] == list(fmt.stop)
    # The prefill is placed by the deepthink class (DEEPTHINK.prefill), when the run asks for it.
    assert "gen_prefix" not in config
    assert config["class"].endswith("harness.task.DeepthinkTask") == bool(fmt.prefill)
    filters = [step for entry in config["filter_list"] for step in entry["filter"]]
    assert filters and all(step["variant"] == fmt.variant for step in filters)
    verdict = "answer_reward" if fmt.variant == "r1_zero" else "accuracy"
    assert all(step["verdict_metric"] == verdict for step in filters)
    prompt = config.get("description", "") + config["doc_to_text"]
    markers = [*(fmt.answer_tags or ()), fmt.thinking_start, fmt.thinking_end]
    assert all(marker in prompt for marker in markers if marker)


def test_yaml_ships_inside_the_wheel(built_wheel):
    names = set(zipfile.ZipFile(built_wheel.path).namelist())
    shipped = {Path(name).name for name in names if name.startswith("lm_eval_math500/tasks/")}
    assert {f"{task}.yaml" for task in TASKS} | {"_base.yaml", "_r1zero.yaml", "_boxed.yaml"} <= shipped
    presets = {Path(name).name for name in names if name.startswith("lm_eval_math500/presets/")}
    assert {"r1_distill_qwen.yaml", "cs336_r1zero.yaml"} <= presets


def test_building_the_package_prints_no_warning(built_wheel):
    # setuptools warns for each task folder that is package data but not a declared package.
    assert "warning" not in built_wheel.log.lower(), built_wheel.log


def test_r1zero_prompt_is_the_cs336_template_byte_for_byte():
    results = replay(BASE_RUN, "math500_r1zero")
    saved = {json.dumps(row["prompt"]) for row in read_jsonl(BASE_RUN)}
    prompts = [s["arguments"][0][0] for s in results["samples"]["math500_r1zero"]]
    assert len(prompts) == 1000  # 500 problems x 2 filters
    assert {json.dumps(p) for p in prompts} == saved
    assert all(p.endswith("\nAssistant: <think>") for p in prompts)
    template = prompts[0].replace(results["samples"]["math500_r1zero"][0]["doc"]["problem"], "{question}")
    assert len(template.encode()) == 449


def test_base_model_replay_reproduces_cs336_format_reward_exactly():
    metrics = replay(BASE_RUN, "math500_r1zero", keep_stop=True)["results"]["math500_r1zero"]
    assert metrics["format_reward,cs336"] == pytest.approx(82 / 500)
    # 13/500 reported; five answers the CS336 normaliser rejects are right (see tasks/README.md).
    assert metrics["answer_reward,cs336"] == pytest.approx(18 / 500)
    assert metrics["reward,cs336"] == metrics["answer_reward,cs336"]


def test_verdicts_that_differ_from_the_cs336_file_are_the_reviewed_ones():
    results = replay(BASE_RUN, "math500_r1zero", keep_stop=True)
    source = read_jsonl(BASE_RUN)
    differ = {
        s["doc"]["unique_id"]
        for s in results["samples"]["math500_r1zero"]
        if s["filter"] == "cs336"
        and (s["answer_reward"], s["format_reward"])
        != (source[s["doc_id"]]["metrics"]["answer_reward"], source[s["doc_id"]]["metrics"]["format_reward"])
    }
    # 30^{\circ} for 30^\circ, "13/18." for \frac{13}{18}, "3/24 = 1/8" for \frac18, 255_{10} for 255,
    # "15 cm²" for 15\mbox{ cm}^2.
    assert differ == {
        "test/geometry/65.json",
        "test/counting_and_probability/51.json",
        "test/prealgebra/1458.json",
        "test/number_theory/691.json",
        "test/prealgebra/1114.json",
    }


def test_stop_string_cut_by_the_backend_counts_as_closed():
    metrics = replay(BASE_RUN, "math500_r1zero")["results"]["math500_r1zero"]
    # Without the stop string, the 4 responses that ran out inside <answer> cannot be told apart.
    assert metrics["format_reward,cs336"] == pytest.approx(86 / 500)


def test_instruct_model_without_chat_template_scores_zero_in_cs336_mode():
    metrics = replay(INSTRUCT_RUN, "math500_r1zero", keep_stop=True)["results"]["math500_r1zero"]
    assert metrics["format_reward,cs336"] == 0.0
    assert metrics["answer_reward,cs336"] == 0.0


# 177's solution defines \boxed{N} as a function and ends on \boxed{12}; the answer is 6. The
# other three box two answers side by side where the problem accepts either one, which as a
# model's answer is a hedge.
SOLUTIONS_AT_FAULT = {
    "test/prealgebra/177.json", "test/algebra/1730.json", "test/intermediate_algebra/25.json",
    "test/intermediate_algebra/702.json",
}  # fmt: skip
# The published golds of these keep only the last of the answers their problems ask for, which
# the solutions box one by one (the errata of gold_errata complete them).
INCOMPLETE_GOLDS = {"test/algebra/1878.json", "test/intermediate_algebra/225.json", "test/precalculus/679.json"}


@pytest.mark.parametrize(
    ("task", "data_file", "problem_field", "solution_field", "metadata", "wrong"),
    [
        ("math500_question_only", "math500/test.jsonl", "problem", "solution", {}, set()),
        ("gsm8k_question_only", "gsm8k/test.jsonl", "question", "answer", {}, set()),
        pytest.param(
            "math_validation_question_only", "math/test.jsonl", "problem", "solution", {},
            SOLUTIONS_AT_FAULT | INCOMPLETE_GOLDS, marks=pytest.mark.slow,
        ),  # fmt: skip
        pytest.param(
            "math_validation_question_only", "math/test.jsonl", "problem", "solution", {"gold_errata": True},
            SOLUTIONS_AT_FAULT, marks=pytest.mark.slow,
        ),  # fmt: skip
    ],
)
def test_reference_solutions_score_full_marks(tmp_path, task, data_file, problem_field, solution_field, metadata, wrong):
    rows = read_jsonl(SHARED_DATA / data_file)
    replay_file = write_jsonl(
        tmp_path / "reference.jsonl", [{"problem": r[problem_field], "response": r[solution_field]} for r in rows]
    )
    samples = replay(replay_file, task, **metadata)["samples"][task]
    assert len(samples) == len(rows)
    assert {s["doc"]["unique_id"] for s in samples if s["accuracy"] < 1} == wrong


BAD_RESPONSES = [
    "",
    "<answer>",
    "\\boxed{\\frac{1}{2}",
    "}}}{{{ \\boxed{{{{ }",
    "The answer is " + "9" * 1_000_000,
    "<think>" + "\\left(" * 5000 + "</think> <answer>\\boxed{" + "{" * 3000 + "1",
    "\x00\x01\x02 <SOLUTION>\x7f",
    "__import__('os').system('echo pwned')",
]


@pytest.mark.parametrize("task", ["math500_r1zero", "math500_deepthink", "math500_question_only", "math500_boxed"])
def test_bad_outputs_are_wrong_answers_not_crashes(tmp_path, task):
    problems = read_jsonl(SHARED_DATA / "math500/test.jsonl")[: len(BAD_RESPONSES)]
    replay_file = write_jsonl(
        tmp_path / "bad.jsonl", [{"problem": p["problem"], "response": r} for p, r in zip(problems, BAD_RESPONSES)]
    )
    samples = replay(replay_file, task, limit=len(BAD_RESPONSES))["samples"][task]
    assert len(samples) == len(BAD_RESPONSES) * (2 if task in ("math500_r1zero", "math500_deepthink") else 1)
    assert all(s["accuracy"] == 0 for s in samples)


def test_deepthink_strict_filter_requires_the_solution_tags(tmp_path):
    first, problem = read_jsonl(SHARED_DATA / "math500/test.jsonl")[:2]
    assert problem["answer"] == "p - q"
    rows = [
        {"problem": first["problem"], "response": ""},
        {"problem": problem["problem"], "response": "Some thought. So the sum is $\\boxed{p - q}$."},
    ]
    samples = replay(write_jsonl(tmp_path / "one.jsonl", rows), "math500_deepthink", limit=2)["samples"]
    by_filter = {s["filter"]: s for s in samples["math500_deepthink"] if s["doc_id"] == 1}
    assert by_filter["lenient"]["accuracy"] == 1 and by_filter["lenient"]["format_ok"] == 0
    assert by_filter["strict"]["accuracy"] == 0


def test_deepthink_prefill_comes_from_metadata(tmp_path):
    first = read_jsonl(SHARED_DATA / "math500/test.jsonl")[0]
    rows = [{"problem": first["problem"], "response": "x</end_deepthink><SOLUTION>1"}]
    path = write_jsonl(tmp_path / "one.jsonl", rows)
    plain = replay(path, "math500_deepthink", limit=1)["samples"]["math500_deepthink"][0]
    prefilled = replay(path, "math500_deepthink", limit=1, deepthink_prefill=True)["samples"]["math500_deepthink"][0]
    system_prompt = "</end_deepthink>. Then write only the final answer, in simplest form, between <SOLUTION> and </SOLUTION>.\n\n"
    assert plain["arguments"][0][0].endswith(system_prompt + first["problem"])
    assert prefilled["arguments"][0][0].endswith(system_prompt + first["problem"] + "\n" + DEEPTHINK.prefill)


def test_repeats_are_served_in_order_and_averaged(tmp_path):
    first = read_jsonl(SHARED_DATA / "math500/test.jsonl")[0]
    answers = ["\\boxed{(3, \\frac{\\pi}{2})}", "\\boxed{(3, \\pi)}", "\\boxed{\\left(3,\\frac{\\pi}{2}\\right)}"]
    path = write_jsonl(tmp_path / "three.jsonl", [{"problem": first["problem"], "response": answers}])
    manager = TaskManager(include_path=str(tasks_dir()), include_defaults=False, metadata={"data_dir": str(SHARED_DATA)})
    task = manager.load(["math500_question_only"])["tasks"]["math500_question_only"]
    task.set_config(key="repeats", value=3)
    results = lm_eval.simple_evaluate(
        model=ReplayLM(path=str(path)), tasks=[task], task_manager=manager, limit=1, bootstrap_iters=0
    )
    (sample,) = results["samples"]["math500_question_only"]
    assert sample["resps"] == [answers]
    assert sample["accuracy"] == pytest.approx(2 / 3)


def test_missing_generation_names_the_problem(tmp_path):
    path = write_jsonl(tmp_path / "empty.jsonl", [{"problem": "not a MATH-500 problem", "response": "1"}])
    with pytest.raises(MissingGenerationError, match="test/precalculus/807.json"):
        replay(path, "math500_question_only", limit=1)


def test_replay_reads_lm_eval_samples_files(tmp_path):
    first = replay(BASE_RUN, "math500_r1zero", keep_stop=True)
    samples_file = write_jsonl(tmp_path / "samples_math500_r1zero.jsonl", first["samples"]["math500_r1zero"])
    again = replay(samples_file, "math500_r1zero")["results"]["math500_r1zero"]
    assert again["answer_reward,tags"] == first["results"]["math500_r1zero"]["answer_reward,tags"]


@pytest.mark.parametrize(
    ("name", "metadata"),
    [("math_validation_question_only", {}), ("math_validation_boxed", {"boxed_instruction": "system"})],
)
def test_qwen_math_outputs_regraded_with_eight_repeats(name, metadata):
    """100 MATH problems x 8 Qwen2.5-Math-Instruct samples, re-graded against Qwen's own verdicts.

    The boxed variant with the system-turn instruction is the prompt these were sampled with; it
    grades them exactly as question_only does (the same avg@8).
    """
    qwen_file = RUNS / "qwen25_math_instruct__math_first100__cot_t0.7_n8__qwenlm.jsonl"
    qwen = {problem_key(row["question"]): row for row in read_jsonl(qwen_file)}
    manager = TaskManager(
        include_path=str(tasks_dir()), include_defaults=False, metadata={"data_dir": str(SHARED_DATA), **metadata}
    )
    task = manager.load([name])["tasks"][name]
    task.set_config(key="repeats", value=8)
    doc_ids = [i for i, doc in enumerate(task.test_docs()) if problem_key(doc["problem"]) in qwen]
    assert len(doc_ids) == 100
    results = lm_eval.simple_evaluate(
        model=ReplayLM(path=str(qwen_file)),
        tasks=[task],
        task_manager=manager,
        samples={name: doc_ids},
        bootstrap_iters=0,
    )
    differ = {}
    for sample in results["samples"][name]:
        assert sample["arguments"][0][0] == row_prompt(sample["doc"]["problem"], metadata)
        row = qwen[problem_key(sample["doc"]["problem"])]
        assert sample["resps"] == [row["code"]]  # the i-th saved sample answers the i-th repeat
        (records,) = sample["filtered_resps"]
        ours = [doc_verdict(record.answer, sample["doc"]).correct for record in records]
        assert [record.correct for record in records] == ours  # the run's own verdicts
        assert sample["accuracy"] == pytest.approx(sum(ours) / 8)
        mismatched = [i for i, (a, b) in enumerate(zip(ours, row["score"])) if a != b]
        if mismatched:
            differ[row["idx"]] = (mismatched, row["answer"])
    # Qwen's grader rejects "4:30 \text{ p.m.}" for \text{4:30 p.m.} and 10000 for 10{,}000; both are right.
    assert differ == {3: (list(range(8)), "\\text{4:30 p.m.}"), 72: ([7], "10{,}000")}
    mean_at_8 = results["results"][name]["accuracy,extract"]
    assert mean_at_8 == pytest.approx((728 + 9) / 800)  # Qwen's own verdicts give 0.910 (728/800)


def row_prompt(problem: str, metadata: dict) -> str:
    """The prompt of a task without a chat template: the bare problem, or the system instruction first."""
    if metadata.get("boxed_instruction") == "system":
        return BOXED_INSTRUCTION + problem
    return problem


def test_boxed_prompt_puts_the_instruction_after_the_problem_by_default(tmp_path):
    first = read_jsonl(SHARED_DATA / "math500/test.jsonl")[0]
    path = write_jsonl(tmp_path / "one.jsonl", [{"problem": first["problem"], "response": "\\boxed{1}"}])
    (sample,) = replay(path, "math500_boxed", limit=1)["samples"]["math500_boxed"]
    assert sample["arguments"][0][0] == first["problem"] + "\n" + BOXED_INSTRUCTION
    assert sample["arguments"][0][1]["until"] == [] and sample["arguments"][0][1]["max_gen_toks"] == 4096


def test_instruct_model_given_the_raw_r1_prompt_is_scored_on_its_boxed_answers():
    """The template trap: the CS336 instruct file scores 0 on the R1-Zero format (the test above),
    but the model did answer: it wrote the chain of thought and \\boxed{} answers it was trained to write."""
    samples = replay(INSTRUCT_RUN, "math500_boxed")["samples"]["math500_boxed"]
    right = [s for s in samples if s["accuracy"] == 1]
    assert len(right) == 249  # 49.8%; a crude last-box exact match gives 44.2%
    # All but 4 are boxed (those state their answer in prose).
    assert sum("\\boxed" in s["resps"][0][0] for s in right) == 245


def test_sky_t1_replay_reports_unfinished_thinking_and_never_grades_inside_the_trace():
    """Sky-T1 (Gemma-2-27B, 8k context) thinks between <|begin_of_thought|> and <|end_of_thought|>.
    Qwen's grader scored 60.0, crediting numbers from traces that never ended."""
    sky = RUNS / "sky_t1_math_correct_5k_27b_gemma2__math500__skyt1_greedy_max32768__skythought.jsonl"
    results = replay(sky, "math500_boxed")
    metrics, samples = results["results"]["math500_boxed"], results["samples"]["math500_boxed"]
    unfinished = [s for s in samples if s["unfinished"]]
    assert len(unfinished) == 94 and metrics["unfinished,extract"] == pytest.approx(94 / 500)
    assert all("<|end_of_thought|>" not in s["resps"][0][0] for s in unfinished)
    assert all(s["accuracy"] == 0 and [[r.answer for r in g] for g in s["filtered_resps"]] == [[None]] for s in unfinished)
    finished = [s for s in samples if not s["unfinished"]]
    assert sum(s["accuracy"] for s in finished) / len(finished) == pytest.approx(313 / 406)
    assert metrics["accuracy,extract"] == pytest.approx(313 / 500)


def test_qwen_math_7b_base_replay_differs_from_qwens_verdicts_only_where_reviewed():
    """Qwen2.5-Math-7B base with the qwen25-math-cot prompt (SkyThought's run): 52.4 reported."""
    source = RUNS / "qwen25_math_7b_base__math500__qwen25mathcot_greedy_max32768__skythought.jsonl"
    qwen = {problem_key(row["question"]): row["score"][0] for row in read_jsonl(source)}
    samples = replay(source, "math500_boxed", boxed_instruction="system")["samples"]["math500_boxed"]
    assert sum(s["accuracy"] for s in samples) == 264
    differ = {
        s["doc"]["answer"]: s["accuracy"] for s in samples if s["accuracy"] != qwen[problem_key(s["doc"]["problem"])]
    }
    # Two right answers Qwen rejects.
    assert differ == {"10,\\!080": 1, "\\text{(B)}": 1}


def test_tora_gsm8k_replay_reads_unboxed_answers_as_tora_does():
    """ToRA-70B on GSM8K: 84.3 reported; ToRA reads an unboxed answer from the last program output,
    ours from the concluding sentence, passing over the quantities it copies from the problem."""
    source = RUNS / "tora_70b__gsm8k_test__tora_greedy__microsoft_tora.jsonl"
    tora = {problem_key(row["question"]): row for row in read_jsonl(source)}
    samples = replay(source, "gsm8k_boxed")["samples"]["gsm8k_boxed"]
    assert sum(s["accuracy"] for s in samples) == 1112
    missed = [
        s for s in samples
        if not s["accuracy"] and tora[problem_key(s["doc"]["problem"])]["pred"][0] == s["doc"]["answer"]
    ]  # fmt: skip
    assert missed == []


@pytest.mark.slow
def test_lm_eval_validate_passes_on_every_task_and_group():
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("lm-eval")),
            "validate",
            "--tasks",
            ",".join(TASKS + GROUPS),
            "--include_path",
            str(tasks_dir()),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "All tasks found and valid" in result.stdout + result.stderr
