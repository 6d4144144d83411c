"""Reading a finished run back: results file, and the records its samples file holds per response."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lm_eval_math500.analysis.samples import RunReadError, find_results, read_run
from lm_eval_math500.harness.records import current_version

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


RECORD_FIELDS = {
    "answer", "format_ok", "unfinished", "budget_reached", "tokens", "max_gen_toks", "correct", "verdict", "reason",
    "timed_out", "version",
}  # fmt: skip


def samples_rows(task, filter_name: str) -> dict[int, dict]:
    return {
        row["doc_id"]: row
        for row in map(json.loads, task.samples_file.read_text().splitlines())
        if row["filter"] == filter_name
    }


def test_the_samples_file_holds_one_graded_record_per_response(run_dir: Path):
    task = read_run(run_dir).task()
    for filter_name in ("tags", "cs336"):
        for row in samples_rows(task, filter_name).values():
            ((logged,),) = row["filtered_resps"]
            record = json.loads(logged)
            assert set(record) == RECORD_FIELDS and logged == json.dumps(record, separators=(",", ":"), ensure_ascii=False)
            assert record["version"] == current_version()
            assert float(record["correct"]) == row["accuracy"] and float(record["format_ok"]) == row["format_ok"]
            assert float(record["verdict"]) == row["answer_reward"]  # the r1_zero filters' verdict
            assert float(record["unfinished"]) == row["unfinished"] and float(record["timed_out"]) == row["grader_timeouts"]
            assert record["reason"]
            # Replayed generations: the budget they were made under is unknown, and no tokenizer was named.
            assert record["max_gen_toks"] is None and record["budget_reached"] is False and record["tokens"] is None
            assert "budget_reached" not in row["metrics"]


@pytest.mark.parametrize("filter_name", ["tags", "cs336"])
def test_responses_are_read_from_the_records_the_run_logged(run_dir: Path, filter_name: str):
    task = read_run(run_dir).task()
    rows = samples_rows(task, filter_name)
    problems = task.problems(filter_name)
    assert [p.doc_id for p in problems] == sorted(rows) and len(problems) == 40
    for problem in problems:
        (response,) = problem.responses
        row = rows[problem.doc_id]
        ((logged,),) = row["filtered_resps"]
        record = json.loads(logged)
        assert response.text == row["resps"][0][0]
        assert (response.answer, response.format_ok, response.correct, response.verdict) == (
            record["answer"], record["format_ok"], record["correct"], record["verdict"],
        )  # fmt: skip
        assert (response.reason, response.unfinished, response.max_gen_toks) == (record["reason"], record["unfinished"], None)
        assert float(response.verdict) == row["answer_reward"]
        assert problem.prompt.endswith("Assistant: <think>") and problem.gold == row["doc"]["answer"]


def test_regrade_grades_again_and_agrees_with_a_run_of_todays_grader(run_dir: Path):
    recorded = read_run(run_dir).task()
    regraded = read_run(run_dir, regrade=True).task()
    for filter_name in ("tags", "cs336"):
        assert regraded.problems(filter_name) == recorded.problems(filter_name)


def copy_run(run_dir: Path, to: Path, rewrite) -> Path:
    """A copy of the run whose samples file has each logged filtered response rewritten by ``rewrite``."""
    shutil.copytree(run_dir, to)
    (samples,) = to.rglob("samples_*.jsonl")
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    for row in rows:
        row["filtered_resps"] = [[rewrite(json.loads(logged)) for logged in group] for group in row["filtered_resps"]]
    samples.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return to


@pytest.fixture
def old_run(run_dir: Path, tmp_path: Path) -> Path:
    """The run as a samples file written before records: the extracted answers alone."""
    return copy_run(run_dir, tmp_path / "old", lambda record: record["answer"] or "")


def test_a_samples_file_without_records_is_read_only_by_regrading(old_run: Path, run_dir: Path):
    with pytest.raises(RunReadError, match="holds no per-response records .*; analyse it with --regrade") as error:
        read_run(old_run).task().problems("cs336")
    assert "\n" not in str(error.value)
    assert read_run(old_run, regrade=True).task().problems("cs336") == read_run(run_dir).task().problems("cs336")


def test_a_run_of_another_task_version_warns_once(run_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture):
    older = copy_run(run_dir, tmp_path / "older", lambda record: json.dumps({**record, "version": "1.0"}))
    task = read_run(older).task()
    with caplog.at_level(logging.WARNING):
        first = task.problems("tags")
        task.problems("cs336")
    warnings = [r.getMessage() for r in caplog.records if "task version 1.0" in r.getMessage()]
    assert len(warnings) == 1 and "--regrade re-grades it with today's grader" in warnings[0]
    assert first == read_run(run_dir).task().problems("tags")  # the recorded verdicts are kept


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
