"""Reading a finished run back: results file, and the records its samples file holds per response."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lm_eval_math500.analysis.samples import RunReadError, find_results, read_run
from lm_eval_math500.harness.records import current_version

# Every test reads the run the module's fixture makes once, on one xdist worker.
pytestmark = pytest.mark.xdist_group("samples_run")

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


def test_the_results_file_is_found_below_the_output_folder(run_dir: Path):
    found = find_results(run_dir)
    assert found.name.startswith("results_") and found.suffix == ".json"
    assert find_results(found) == found


def test_a_folder_of_several_runs_is_refused_with_their_list(run_dir: Path, tmp_path: Path):
    """A folder of two models' runs, one of them run twice: which one is meant is the user's to say."""
    (results,) = run_dir.rglob("results_*.json")
    copies = [tmp_path / "model-a" / results.name, tmp_path / "model-b" / results.name, tmp_path / "model-b" / "results_2027.json"]
    for copy in copies:
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(results.read_bytes())
    with pytest.raises(RunReadError) as refused:
        read_run(tmp_path)
    listed = ", ".join(str(copy.relative_to(tmp_path)) for copy in sorted(copies, key=lambda p: (p.name, str(p))))
    assert str(refused.value) == (
        f"{tmp_path} holds 3 runs ({listed}); name one: pass its results file or the folder that holds only it"
    )
    assert read_run(tmp_path / "model-a").results_file == copies[0]
    # A run written since a time is found among older ones (as reproduce finds the run it just made).
    an_hour_ago = time.time() - 3600
    os.utime(copies[1], (an_hour_ago, an_hour_ago))
    assert find_results(tmp_path / "model-b", since=an_hour_ago + 60) == copies[2]


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
    with pytest.raises(RunReadError) as refused:
        broken.problems()
    assert str(refused.value) == (
        f"{bogus}:1: doc_id is missing; pass a samples_<task>_<time>.jsonl that an lm-eval run wrote with --log_samples"
    )


# (what a row of the samples file has instead, the line that says so); nothing is coerced.
WRONG_ROWS = [
    (lambda row: {**row, "resps": "abc"}, "resps is a string, not a list"),
    (lambda row: {**row, "accuracy": "yes"}, "accuracy is a string, not a number"),
    (lambda row: {**row, "doc": {**row["doc"], "answer": 7}}, "doc.answer is an integer, not a string"),
    (lambda row: {**row, "doc_id": "0"}, "doc_id is a string, not an integer"),
    (
        lambda row: {**row, "filtered_resps": [[json.dumps({**json.loads(row["filtered_resps"][0][0]), "correct": "yes"})]]},
        "filtered_resps[0][0].correct is a string, not true or false",
    ),
]


@pytest.mark.parametrize(("rewrite", "message"), WRONG_ROWS)
def test_a_value_of_the_wrong_type_is_an_error_not_coerced(run_dir: Path, tmp_path: Path, rewrite, message):
    shutil.copytree(run_dir, tmp_path / "run")
    (samples,) = (tmp_path / "run").rglob("samples_*.jsonl")
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    rows[3] = rewrite(rows[3])
    samples.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(RunReadError) as refused:
        read_run(tmp_path / "run").task().problems(rows[3]["filter"])
    assert str(refused.value).startswith(f"{samples}:4: {message}; ")


def test_a_results_value_that_is_not_a_number_is_named(run_dir: Path, tmp_path: Path):
    shutil.copytree(run_dir, tmp_path / "run")
    (results,) = (tmp_path / "run").rglob("results_*.json")
    raw = json.loads(results.read_text())
    raw["results"]["math500_r1zero"]["accuracy,tags"] = "yes"
    results.write_text(json.dumps(raw))
    with pytest.raises(RunReadError) as refused:
        read_run(results)
    assert str(refused.value) == (
        f"{results}: results.math500_r1zero.accuracy,tags is a string, not a number; "
        "pass the results_<time>.json of a finished lm-eval run, or its --output_path folder"
    )
    raw["results"]["math500_r1zero"]["accuracy,tags"] = "N/A"  # lm-eval's own word for a value it has not
    results.write_text(json.dumps(raw))
    with pytest.raises(RunReadError, match=r"task math500_r1zero has no value of 'accuracy,tags' \(the results file says 'N/A'\)"):
        read_run(results).task().value("accuracy", "tags")
