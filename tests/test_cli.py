"""The ``lm-eval-math500`` command: run with the replay model, export, grade and tasks-dir."""

from __future__ import annotations

import json
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
        "(one per repeat); save 2 more for it, or lower --repeats"
    )
