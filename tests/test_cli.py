"""The ``lm-eval-math500`` command: run with the replay model, export, grade and tasks-dir."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHARED_DATA
from lm_eval_math500.cli import main

BASE_RUN = SHARED_DATA / "published_runs" / "qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from lm_eval_math500.cli import main; main()", *args],
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_export_writes_one_line_per_problem(tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        "run", "--model", "replay", "--model_args", f"path={BASE_RUN},keep_stop=True",
        "--tasks", "math500_r1zero", "--metadata", json.dumps({"data_dir": str(SHARED_DATA)}),
        "--output_path", str(out), "--log_samples",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    (samples,) = out.rglob("samples_math500_r1zero_*.jsonl")
    exported = run_cli("export", str(samples), "--filter", "cs336")
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [row["idx"] for row in rows] == list(range(500))
    assert set(rows[0]) == {
        "idx", "unique_id", "subject", "level", "problem", "gold", "pred", "pred_text", "correct", "reason", "format_ok",
    }  # fmt: skip
    assert sum(row["format_ok"] for row in rows) == 82
    # correct is the cs336 filter's verdict: the answer counts only when CS336's format holds.
    answer_reward = {
        row["doc_id"]: row["answer_reward"]
        for row in map(json.loads, samples.read_text().splitlines())
        if row["filter"] == "cs336"
    }
    assert [row["correct"] for row in rows] == [bool(answer_reward[i]) for i in range(500)]
    assert sum(row["correct"] for row in rows) == 18
    assert all(row["reason"] for row in rows)
    assert all(row["reason"].endswith("no final answer") for row in rows if row["pred"] is None)


def test_grade_command_prints_a_json_verdict():
    verdict = json.loads(run_cli("grade", "--gold", "\\frac{1}{2}", "--response", "so \\boxed{0.5}").stdout)
    assert verdict["correct"] is True and verdict["pred"] == "0.5"
    assert verdict["reason"] == "numeric value equal" and verdict["format_ok"] is True
    verdict = json.loads(run_cli("grade", "--gold", "\\frac{1}{2}", "--pred", "1/3").stdout)
    assert verdict == {"correct": False, "reason": "numeric value differs", "pred": "1/3", "format_ok": None,
                       "timed_out": False}


def test_tasks_dir_command_prints_the_yaml_folder():
    printed = Path(run_cli("tasks-dir").stdout.strip())
    assert (printed / "math500" / "math500_r1zero.yaml").is_file()


@pytest.mark.parametrize(
    "args,pred,format_ok",
    [
        (["--variant", "r1_zero"], "2", True),
        (["--variant", "question_only"], "2", False),
        (["--variant", "deepthink"], "2", False),
        (["--style", "r1_zero"], "2", True),  # the flag's former name
        ([], "2", True),  # auto: the answer tag makes it r1_zero
    ],
)
def test_grade_command_extracts_under_the_given_variant(capsys, args, pred, format_ok):
    main(["grade", "--gold", "2", "--response", "so 1+1</think> <answer>2</answer>", *args])
    verdict = json.loads(capsys.readouterr().out)
    assert (verdict["pred"], verdict["format_ok"], verdict["correct"]) == (pred, format_ok, True)


@pytest.mark.slow
def test_include_path_adds_a_folder_of_tasks_beside_these(tmp_path):
    """A user's own task, of lm-eval's plain kind, runs in the same command as one of these tasks."""
    folder = tmp_path / "my_tasks"
    folder.mkdir()
    (folder / "my_math500.yaml").write_text(
        "task: my_math500\n"
        "dataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {SHARED_DATA / 'math500' / 'test.jsonl'}\n"
        "test_split: test\n"
        "output_type: generate_until\n"
        'doc_to_text: "{{problem}}"\n'
        'doc_to_target: "{{answer}}"\n'
        "generation_kwargs:\n  until: []\n"
        "filter_list:\n  - name: first\n    filter:\n      - function: take_first\n"
        "metric_list:\n  - metric: exact_match\n    aggregation: mean\n    higher_is_better: true\n",
        encoding="utf-8",
    )
    first = json.loads((SHARED_DATA / "math500" / "test.jsonl").read_text(encoding="utf-8").splitlines()[0])
    saved = tmp_path / "saved.jsonl"
    # One generation for each of the two tasks' requests: right for ours, not the bare answer theirs matches.
    response = f"So the answer is $\\boxed{{{first['answer']}}}$."
    saved.write_text(json.dumps({"problem": first["problem"], "response": [response] * 2}) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli(
        "run", "--model", "replay", "--model_args", f"path={saved}", "--tasks", "math500_question_only,my_math500",
        # A metadata key of the user's own task is no error beside these tasks.
        "--include_path", str(folder), "--limit", "1", "--metadata", json.dumps({"data_dir": str(SHARED_DATA), "my_setting": 1}),
        "--output_path", str(out), "--log_samples",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    (results_file,) = out.rglob("results_*.json")
    written = json.loads(results_file.read_text())
    results = written["results"]
    assert results["my_math500"]["exact_match,first"] == 0.0
    # Its samples file is lm-eval's plain kind, which these tasks' analysis does not read: no breakdown, said so.
    assert list(written["breakdowns"]) == ["math500_question_only"]
    assert "my_math500: no per-level breakdown (" in result.stderr
    assert results["math500_question_only"]["accuracy,extract"] == 1.0
    assert "my_math500" in result.stdout and "math500_question_only" in result.stdout


def _replay(path: Path, tasks: list[str], limit: int = 2, **metadata) -> dict:
    """``--model replay`` of ``path`` through ``tasks``, in this process."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    import lm_eval_math500.harness.replay  # noqa: F401  (registers --model replay)
    from lm_eval_math500.cli import tasks_dir

    manager = TaskManager(
        include_path=str(tasks_dir()), include_defaults=False, metadata={"data_dir": str(SHARED_DATA), **metadata}
    )
    return lm_eval.simple_evaluate(
        model="replay", model_args={"path": str(path)}, tasks=tasks, task_manager=manager, limit=limit,
        log_samples=True, bootstrap_iters=0,
    )  # fmt: skip


def _first_problems(count: int) -> list[dict]:
    lines = (SHARED_DATA / "math500" / "test.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:count]]


def test_one_file_of_generations_is_replayed_through_every_variant_of_math500_all(tmp_path):
    """Each task draws the saved generation it needs: the same text is graded under every variant."""
    saved = tmp_path / "saved.jsonl"
    texts = {doc["problem"]: f"So the answer is $\\boxed{{{doc['answer']}}}$." for doc in _first_problems(2)}
    saved.write_text("".join(json.dumps({"problem": p, "response": t}) + "\n" for p, t in texts.items()), encoding="utf-8")
    results = _replay(saved, ["math500_all"])
    variants = ["math500_r1zero", "math500_deepthink", "math500_question_only", "math500_boxed"]
    assert sorted(results["samples"]) == sorted(variants)
    for task in variants:
        for row in results["samples"][task]:
            assert texts[row["doc"]["problem"]].startswith(row["resps"][0][0])  # r1_zero's stop may cut it
    assert results["results"]["math500_boxed"]["accuracy,extract"] == 1.0
    assert results["results"]["math500_question_only"]["accuracy,extract"] == 1.0


def test_a_row_that_names_its_task_answers_that_task(tmp_path):
    """A journal of two tasks replayed: each task gets the generations made for it."""
    saved = tmp_path / "journal.jsonl"
    tasks = ["math500_question_only", "math500_boxed"]
    rows = [{"task": task, "problem": doc["problem"], "response": f"{task} {doc['unique_id']}"} for doc in _first_problems(2) for task in tasks]
    saved.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    results = _replay(saved, tasks)
    for task in tasks:
        assert sorted(row["resps"][0][0] for row in results["samples"][task]) == sorted(
            f"{task} {doc['unique_id']}" for doc in _first_problems(2)
        )


def test_too_few_generations_for_the_repeats_says_how_many_the_task_needs(tmp_path):
    from lm_eval_math500.harness.replay import MissingGenerationError

    (doc,) = _first_problems(1)
    saved = tmp_path / "saved.jsonl"
    saved.write_text(json.dumps({"problem": doc["problem"], "response": "\\boxed{1}"}) + "\n", encoding="utf-8")
    with pytest.raises(MissingGenerationError) as missing:
        _replay(saved, ["math500_boxed"], limit=1, repeats=3)
    assert str(missing.value) == (
        f"{saved} has 1 generation(s) for {doc['unique_id']} ({doc['problem'][:80]!r}) and task math500_boxed needs 3 "
        "(one per repeat); pass --repeats 1, which every problem of the run has"
    )


QWEN8 = SHARED_DATA / "published_runs" / "qwen25_math_instruct__math_first100__cot_t0.7_n8__qwenlm.jsonl"


def _samples_rows(out: Path, task: str) -> list[dict]:
    (samples,) = out.rglob(f"samples_{task}_*.jsonl")
    return [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
@pytest.mark.usefixtures("shared_data")
def test_only_saved_replays_the_problems_a_file_holds_as_often_as_it_holds_them(tmp_path):
    """The 100 MATH problems x 8 samples of Qwen's file, in one command: each problem the file has, each sample once."""
    from lm_eval_math500.harness.replay import problem_key

    saved = {
        problem_key(row["question"]): row["code"]
        for row in map(json.loads, QWEN8.read_text(encoding="utf-8").splitlines())
    }
    docs = [json.loads(line) for line in (SHARED_DATA / "math" / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    out = tmp_path / "out"
    result = run_cli(
        "run", "--model", "replay", "--model_args", f"path={QWEN8},only_saved=true", "--repeats", "8",
        "--tasks", "math_validation_boxed", "--metadata", json.dumps({"data_dir": str(SHARED_DATA)}),
        "--output_path", str(out), "--log_samples",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    rows = _samples_rows(out, "math_validation_boxed")
    assert sorted(row["doc_id"] for row in rows) == [i for i, doc in enumerate(docs) if problem_key(doc["problem"]) in saved]
    assert len(rows) == 100
    for row in rows:
        assert row["resps"] == [saved[problem_key(row["doc"]["problem"])]]


@pytest.mark.slow
@pytest.mark.parametrize("limit", ["2", "0.5"])
def test_only_saved_with_a_limit_takes_the_first_saved_problems_of_each_task(tmp_path, shared_data, limit):
    docs = [json.loads(line) for line in (shared_data / "math500" / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    saved = tmp_path / "saved.jsonl"
    saved.write_text("".join(json.dumps({"problem": docs[i]["problem"], "response": "\\boxed{1}"}) + "\n" for i in (9, 3, 7)))
    out = tmp_path / "out"
    tasks = ["math500_boxed", "math500_question_only"]
    result = run_cli(
        "run", "--model", "replay", "--model_args", f"path={saved},only_saved=true", "--tasks", ",".join(tasks),
        "--limit", limit, "--metadata", json.dumps({"data_dir": str(shared_data)}), "--output_path", str(out), "--log_samples",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    for task in tasks:
        assert sorted(row["doc_id"] for row in _samples_rows(out, task)) == [3, 7]


LOG_WARNING = re.compile(r"^\d{4}-\d\d-\d\d:\d\d:\d\d:\d\d WARNING +\[[^\]]*\] (.*)$", re.MULTILINE)


@pytest.mark.slow
def test_a_replay_run_warns_only_of_what_it_was_given_and_names_its_results_file(tmp_path, shared_data):
    """No advice on a chat template for a replay (whose file is an instruct model's), no progress bars
    off a terminal, and the results file named only when one was written."""
    instruct = shared_data / "published_runs" / "qwen25_math_1.5b_instruct__math500__r1zero_t1.0_max1024__results.jsonl"
    args = [
        "run", "--model", "replay", "--model_args", f"path={instruct},keep_stop=True", "--tasks", "math500_r1zero",
        "--limit", "2", "--metadata", json.dumps({"data_dir": str(shared_data)}),
    ]  # fmt: skip
    printed = run_cli(*args)
    assert printed.returncode == 0, printed.stderr[-2000:]
    assert LOG_WARNING.findall(printed.stderr) == [
        "--limit SHOULD ONLY BE USED FOR TESTING. REAL METRICS SHOULD NOT BE COMPUTED USING LIMIT."
    ]
    assert "\r" not in printed.stderr + printed.stdout
    assert "Every metric" not in printed.stdout  # no results file to point at
    saved = run_cli(*args, "--output_path", str(tmp_path / "out"))
    assert saved.returncode == 0, saved.stderr[-2000:]
    (results_file,) = (tmp_path / "out").rglob("results_*.json")
    assert saved.stdout.rstrip().endswith(f"Every metric, with its standard error, is in {results_file}")


@pytest.mark.xdist_group("small_run")
def test_report_and_compare_print_no_progress_bars_nor_advice_for_the_run(tmp_path, small_run):
    """A finished run of a backend (not a replay) whose tokenizer cannot be loaded here, re-graded."""
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    (results_file,) = run.rglob("results_*.json")
    results = json.loads(results_file.read_text(encoding="utf-8"))
    results["config"]["model"] = "vllm"
    for config in results["configs"].values():
        config["metadata"]["pretrained"] = "no-such-org/no-such-model"
    results_file.write_text(json.dumps(results), encoding="utf-8")
    for args in (["report", str(run), "--regrade"], ["compare", str(run), str(run), "--regrade", "--out", str(tmp_path / "pairs.jsonl")]):
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "\r" not in result.stderr + result.stdout
        assert "--model_args" not in result.stderr and "pretrained=" not in result.stderr


# Runs the command with lm-eval's TaskManager counting the indexes built, and whether each took lm-eval's own tasks.
COUNTING_TASK_INDEXES = """
import sys
import lm_eval.tasks

built = []


class CountingTaskManager(lm_eval.tasks.TaskManager):
    def __init__(self, *args, include_defaults=True, **kwargs):
        built.append(include_defaults)
        super().__init__(*args, include_defaults=include_defaults, **kwargs)


lm_eval.tasks.TaskManager = CountingTaskManager
from lm_eval_math500.cli import main

try:
    main(sys.argv[1:])
finally:
    print("indexes built with lm-eval's own tasks:", built, file=sys.stderr)
"""


def test_a_misspelled_task_is_refused_without_indexing_lm_evals_own_tasks(tmp_path):
    saved = tmp_path / "saved.jsonl"
    saved.write_text(json.dumps({"problem": "1 + 1?", "response": "2"}) + "\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", COUNTING_TASK_INDEXES, "run", "--model", "replay", "--model_args", f"path={saved}",
         "--tasks", "math500_r1zeroo"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.splitlines()[-2:] == [
        "lm-eval-math500: error: task 'math500_r1zeroo' not found; did you mean math500_r1zero, math500_boxed, math500_all?",
        # this package's index only: lm-eval's own task files do not name math500_r1zeroo
        "indexes built with lm-eval's own tasks: [False]",
    ]
