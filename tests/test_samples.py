"""Reading a finished run back: results file, samples file, and every response regraded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lm_eval_math500.analysis.samples import RunReadError, find_results, read_run

BASE_RUN = "published_runs/qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, offline_env: dict[str, str]) -> Path:
    """A real 40-problem run of math500_r1zero written by the harness (replayed CS336 generations)."""
    out = tmp_path_factory.mktemp("run")
    subprocess.run(
        [
            str(Path(sys.executable).parent / "lm-eval-math500"), "run", "--model", "replay",
            "--model_args", f"path={shared_data / BASE_RUN},keep_stop=True",
            "--tasks", "math500_r1zero", "--limit", "40",
            "--metadata", json.dumps({"data_dir": str(shared_data)}),
            "--output_path", str(out), "--log_samples",
        ],
        check=True, env=offline_env, capture_output=True,
    )
    return out


def test_the_newest_results_file_is_found_below_the_output_folder(run_dir: Path):
    found = find_results(run_dir)
    assert found.name.startswith("results_") and found.suffix == ".json"
    assert find_results(found) == found


def test_tasks_filters_and_aggregates_come_from_the_results_file(run_dir: Path):
    run = read_run(run_dir)
    task = run.task()
    assert task.name == "math500_r1zero" and run.task("math500_r1zero") is task
    assert task.filters == ["tags", "cs336"]
    assert task.generation_kwargs["max_gen_toks"] == 1024 and task.repeats == 1
    raw = json.loads(run.results_file.read_text())["results"]["math500_r1zero"]
    assert task.value("format_reward", "cs336") == (raw["format_reward,cs336"], raw["format_reward_stderr,cs336"])


@pytest.mark.parametrize("filter_name", ["tags", "cs336"])
def test_regraded_responses_reproduce_the_harness_per_problem_scores(run_dir: Path, filter_name: str):
    task = read_run(run_dir).task()
    rows = {
        row["doc_id"]: row
        for row in map(json.loads, task.samples_file.read_text().splitlines())
        if row["filter"] == filter_name
    }
    problems = task.problems(filter_name)
    assert [p.doc_id for p in problems] == sorted(rows) and len(problems) == 40
    for problem in problems:
        (response,) = problem.responses
        row = rows[problem.doc_id]
        assert response.answer == (row["filtered_resps"][0][0] or None)
        assert float(response.correct) == row["accuracy"]
        assert float(response.format_ok) == row["format_ok"]
        assert float(response.correct and response.format_ok) == row["answer_reward"]
        assert problem.prompt.endswith("Assistant: <think>") and problem.gold == row["doc"]["answer"]


def test_a_folder_without_a_run_names_the_fix(tmp_path: Path):
    with pytest.raises(RunReadError, match="--output_path folder"):
        read_run(tmp_path)
    with pytest.raises(RunReadError, match="does not exist"):
        read_run(tmp_path / "missing")


def test_unknown_task_filter_or_metric_are_named(run_dir: Path):
    run = read_run(run_dir)
    with pytest.raises(RunReadError, match="no task 'gsm8k_r1zero'"):
        run.task("gsm8k_r1zero")
    with pytest.raises(RunReadError, match="no filter 'strict'"):
        run.task().problems("strict")
    with pytest.raises(RunReadError, match="no 'pass@4,tags'"):
        run.task().value("pass@4", "tags")


def test_a_file_that_is_not_a_samples_file_is_refused(run_dir: Path, tmp_path: Path):
    run = read_run(run_dir)
    bogus = tmp_path / "samples.jsonl"
    bogus.write_text('{"prompt": "x"}\n')
    task = run.task()
    broken = type(task)(task.name, task.results, task.config, bogus)
    with pytest.raises(RunReadError, match="is not a samples file"):
        broken.problems()
