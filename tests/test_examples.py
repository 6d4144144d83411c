"""Every script in examples/ runs as shipped, from a folder other than the checkout: the offline ones
for real, the GPU ones as a checked --dry-run; the README lists each."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from lm_eval._cli.harness import HarnessCLI
from lm_eval.tasks import TaskManager

from conftest import DEFAULT_SHARED_DATA, REPO_ROOT, SHARED_DATA_ENV
from lm_eval_math500.cli import tasks_dir

EXAMPLES = REPO_ROOT / "examples"
SAVED_RUN = "qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results"
GPU_EXAMPLES = {
    "cs336_baseline.sh": ["math_validation_r1zero"],
    "dr_grpo_greedy.sh": ["math500_r1zero", "math500_question_only"],
}


def example_env(offline_env: dict[str, str]) -> dict[str, str]:
    """The test's environment with this interpreter's scripts (lm-eval-math500, lm_eval) first on PATH."""
    env = dict(offline_env)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


# Tested beside the presets it runs (tests/test_presets.py).
PRESET_EXAMPLES = {"reproduce_r1_distill_qwen_1.5b.py"}


def test_every_example_is_covered():
    covered = {*GPU_EXAMPLES, *PRESET_EXAMPLES, "grade_answers.py", "regrade_saved_outputs.sh", "grpo_with_trl.py"}
    assert {path.name for path in EXAMPLES.iterdir()} == covered


def test_the_readme_lists_every_example():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert [path.name for path in sorted(EXAMPLES.iterdir()) if f"(examples/{path.name})" not in readme] == []


def test_grade_answers_prints_the_verdicts(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "grade_answers.py")], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "\\frac{1}{8}",
        "Verdict(correct=True, reason='same string', pred='\\\\frac{1}{8}', format_ok=True, timed_out=False)",
        "True",
        "False",
        "False",
    ]


def test_regrade_saved_outputs_reproduces_cs336_and_exports_its_verdicts(tmp_path, offline_env, shared_data):
    """Run from a folder that has no shared data beside it: the script finds the shared folder from
    its own place (or from the variable, when the folder is elsewhere), not from the working directory."""
    env = example_env(offline_env)
    env.pop(SHARED_DATA_ENV, None)
    if shared_data.resolve() != DEFAULT_SHARED_DATA.resolve():
        env[SHARED_DATA_ENV] = str(shared_data)
    assert not (tmp_path / ".." / "shared" / "data").exists()
    result = subprocess.run(
        ["bash", str(EXAMPLES / "regrade_saved_outputs.sh")], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Filed under the saved file's name, not a hidden folder named after its relative path.
    assert [path.name for path in (tmp_path / "results" / "replay").iterdir() if path.is_dir()] == [SAVED_RUN]
    # The printed table: one row per filter, the verdict first; every metric stays in the results JSON.
    header, _, tags, cs336 = (line for line in result.stdout.splitlines() if line.startswith("|"))
    assert header.split("|")[1:5] == ["    Tasks     ", "Filter", " n ", "answer_reward"]
    assert cs336.split("|")[2:5] == ["cs336 ", "   ", "0.036 ± 0.008"]
    assert "format_reward" not in result.stdout
    (results_file,) = (tmp_path / "results" / "replay" / SAVED_RUN).glob("results_*.json")
    metrics = json.loads(results_file.read_text())["results"]["math500_r1zero"]
    assert metrics["format_reward,cs336"] == 0.164 and metrics["reward,cs336"] == 0.036
    exported = [json.loads(line) for line in (tmp_path / "results/replay/math500_r1zero.jsonl").open()]
    assert len(exported) == 500
    # correct is the cs336 filter's verdict: right answer and CS336's format (18), not the answer alone (45).
    assert sum(row["correct"] for row in exported) == 18
    assert sum(row["format_ok"] for row in exported) == 82
    assert all(row["format_ok"] for row in exported if row["correct"])


@pytest.mark.parametrize(("script", "tasks"), GPU_EXAMPLES.items())
def test_gpu_example_dry_run_prints_a_command_lm_eval_accepts(script, tasks, tmp_path, offline_env, monkeypatch):
    result = subprocess.run(
        ["bash", str(EXAMPLES / script), "--dry-run"],
        cwd=tmp_path, env=example_env(offline_env), capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    program, *args = shlex.split(line)
    assert program == "lm_eval"
    monkeypatch.setattr(sys, "argv", ["lm_eval", "run", *args])
    options = HarnessCLI().parse_args()  # lm-eval's own parser: a misspelled option exits here
    assert options.model == "vllm" and options.model_args["pretrained"] == "Qwen/Qwen2.5-Math-1.5B"
    assert Path(options.include_path) == tasks_dir()
    assert options.tasks == tasks
    known = TaskManager(include_path=options.include_path, include_defaults=False).all_tasks
    assert set(options.tasks) <= set(known)


@pytest.mark.slow
def test_grpo_with_trl_trains_two_steps_on_cpu_rewarded_by_the_task_verdicts(tmp_path, offline_env, shared_data, tiny_model):
    """Without a GPU the example runs two GRPO steps of the given model; the rewards it logs are the
    verdicts of the math500_r1zero task's cs336 filter."""
    import pandas as pd

    from lm_eval_math500.rewards import grade_batch

    out = tmp_path / "grpo"
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "grpo_with_trl.py"), "--model", str(tiny_model.path),
         "--data-dir", str(shared_data), "--output-dir", str(out)],
        cwd=tmp_path, env=example_env(offline_env) | {"CUDA_VISIBLE_DEVICES": ""}, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    steps = [line for line in result.stdout.splitlines() if line.startswith("step ")]
    assert steps == ["step 1: mean reward 0.500 (r1_zero_cs336)", "step 2: mean reward 0.000 (r1_zero_cs336)"]
    rows = [json.loads(line) for line in (shared_data / "math500" / "test.jsonl").open()][:4]
    by_problem = {row["problem"]: row for row in rows}
    for path in sorted((out / "completions").glob("completions_*.parquet")):
        table = pd.read_parquet(path)
        graded = [next(row for problem, row in by_problem.items() if problem in prompt) for prompt in table["prompt"]]
        verdicts = grade_batch(table["completion"].tolist(), [r["answer"] for r in graded], [r["problem"] for r in graded])
        assert table["r1_zero_cs336"].tolist() == [float(v.correct and v.format_ok) for v in verdicts]
