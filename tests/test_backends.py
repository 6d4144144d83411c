"""Real runs of the stock ``lm-eval`` CLI with the ``hf`` and ``vllm`` backends on a tiny model.

The model (``tiny_model.py``) has random weights but is scripted to answer R1-Zero prompts with
`` ok</think> <answer>p - q</answer>`` and deepthink-prefilled prompts with
`` hmm</end_deepthink><SOLUTION>\\frac{14}{3}</SOLUTION>``: the gold answers of MATH-500 problems
1 and 2. So on the first three problems every response is well formed, exactly one is right, and
the stop strings are really generated and must be cut by the backend. Everything else it writes
is a random (but seeded) walk, which greedy decoding must reproduce identically on both backends.

The three CLI runs are independent, so they are started together and run side by side.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import VLLM_ENV, console_script, vllm_importable
from tiny_model import ANSWER_TAIL, DEEPTHINK_RESPONSE, R1_ZERO_RESPONSE

# Each test reads runs that the module's fixtures make once, on one xdist worker.
pytestmark = [pytest.mark.backend, pytest.mark.slow, pytest.mark.xdist_group("backends")]

LIMIT = 3
MAX_GEN_TOKS = 24
RUN_TIMEOUT = 600  # seconds; a healthy run takes 15-60 s

# CS336's r1_zero.prompt, byte for byte.
R1_ZERO_PROMPT = (
    "A conversation between User and Assistant. The User asks a question, and the Assistant solves it. "
    "The Assistant first thinks about the reasoning process in the mind and then provides the User with "
    "the answer. The reasoning process is enclosed within <think> </think> and answer is enclosed within "
    "<answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer "
    "here </answer>.\nUser: {question}\nAssistant: <think>"
)
R1_ZERO_METRICS = (
    "accuracy", "format_ok", "grader_timeouts", "unfinished", "budget_reached", "format_reward", "answer_reward", "reward",
)  # fmt: skip
R1_ZERO_FILTERS = ("tags", "cs336")
R1_ZERO_ANSWER = "p - q"  # what the tiny model answers after <think>
DEEPTHINK_ANSWER = "\\frac{14}{3}"  # and inside <SOLUTION> after <start_deepthink>


@dataclass
class RunSpec:
    """One ``lm-eval run`` invocation."""

    model: str
    model_args: str
    tasks: tuple[str, ...]
    metadata: dict[str, Any]
    extra: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    model_fixture: str = "tiny_model"  # the fixture that builds the model the run loads


@dataclass
class Run:
    """What a finished run wrote: the results JSON and each task's samples, in doc order."""

    results: dict[str, Any]
    samples: dict[str, list[dict[str, Any]]]
    log: str

    def task_samples(self, task: str, filter_name: str) -> list[dict[str, Any]]:
        return [s for s in self.samples[task] if s["filter"] == filter_name]


class _Started:
    """An ``lm-eval`` subprocess started in the background; ``result()`` waits and parses."""

    def __init__(self, name: str, spec: RunSpec, root: Path, base_env: dict[str, str], shared_data: Path, model_dir: Path):
        self.name, self.spec = name, spec
        self.out = root / name
        self.out.mkdir(parents=True)
        metadata = {"data_dir": str(shared_data), **spec.metadata}
        self.argv = [
            console_script("lm-eval"), "run",
            "--model", spec.model,
            "--model_args", spec.model_args.format(model=model_dir),
            "--include_path", _tasks_dir(),
            "--tasks", ",".join(spec.tasks),
            "--limit", str(LIMIT),
            "--metadata", json.dumps(metadata),
            "--gen_kwargs", f"max_gen_toks={MAX_GEN_TOKS}",
            "--output_path", str(self.out / "output"),
            "--log_samples",
            *spec.extra,
        ]  # fmt: skip
        self.log_path = self.out / "lm-eval.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.out,
                env={**base_env, **spec.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so a timeout stops all of it
            )
        self._run: Run | None = None

    def result(self) -> Run:
        if self._run is None:
            self._run = self._collect()
        return self._run

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def _collect(self) -> Run:
        try:
            code = self.process.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"{self.name}: lm-eval did not finish in {RUN_TIMEOUT} s\n{self._tail()}", pytrace=False)
        if code != 0:
            pytest.fail(f"{self.name}: lm-eval exited with {code}\n{' '.join(self.argv)}\n{self._tail()}", pytrace=False)
        output = self.out / "output"
        results_files = sorted(output.rglob("results_*.json"))
        assert len(results_files) == 1, f"{self.name}: expected one results file, found {results_files}"
        samples = {}
        for task in self.spec.tasks:
            files = sorted(output.rglob(f"samples_{task}_*.jsonl"))
            assert len(files) == 1, f"{self.name}: expected one samples file for {task}, found {files}"
            with files[0].open(encoding="utf-8") as handle:
                rows = [json.loads(line) for line in handle if line.strip()]
            samples[task] = sorted(rows, key=lambda row: (row["filter"], row["doc_id"]))
        results = json.loads(results_files[0].read_text(encoding="utf-8"))
        return Run(results=results, samples=samples, log=self.log_path.read_text(errors="replace"))

    def _tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


_TASKS_DIR: list[str] = []


def _tasks_dir() -> str:
    """``lm-eval-math500 tasks-dir``, as a user would pass it to ``--include_path``."""
    if not _TASKS_DIR:
        out = subprocess.run(
            [console_script("lm-eval-math500"), "tasks-dir"], capture_output=True, text=True, check=True, timeout=120
        )
        _TASKS_DIR.append(out.stdout.strip())
    return _TASKS_DIR[0]


# fixture name -> the run it needs
RUNS = {
    "hf_run": RunSpec(
        model="hf",
        model_args="pretrained={model},dtype=float32",
        tasks=("math500_r1zero", "math500_question_only"),
        metadata={},
        extra=("--device", "cpu"),
    ),
    "vllm_run": RunSpec(
        model="vllm",
        model_args="pretrained={model},enforce_eager=True,dtype=float32,max_model_len=512",
        tasks=("math500_r1zero", "math500_question_only"),
        metadata={},
        env=VLLM_ENV,
    ),
    "hf_chat_run": RunSpec(
        model="hf",
        model_args="pretrained={model},dtype=float32",
        tasks=("math500_deepthink",),
        metadata={"deepthink_prefill": True},
        extra=("--device", "cpu", "--apply_chat_template"),
    ),
    # A chat template that opens <think>: hf sees the whole response and splits it itself; vLLM
    # cuts the trace with lm-eval's think_end_token, under a budget of one token that ends the
    # response inside the trace.
    "hf_think_run": RunSpec(
        model="hf",
        model_args="pretrained={model},dtype=float32",
        tasks=("math500_boxed",),
        metadata={},
        extra=("--device", "cpu", "--apply_chat_template"),
        model_fixture="thinking_model",
    ),
    "vllm_think_run": RunSpec(
        model="vllm",
        model_args="pretrained={model},enforce_eager=True,dtype=float32,max_model_len=512,think_end_token=</think>",
        tasks=("math500_boxed",),
        metadata={},
        extra=("--apply_chat_template", "--gen_kwargs", "max_gen_toks=1"),
        env=VLLM_ENV,
        model_fixture="thinking_model",
    ),
}


@pytest.fixture(scope="module")
def started_runs(request, tmp_path_factory, offline_env, shared_data):
    """Start, side by side, every run that the selected tests of this module use."""
    used = {
        name
        for item in request.session.items
        if getattr(item, "module", None) is request.module
        for name in getattr(item, "fixturenames", ())
    }
    wanted = {name for name in RUNS if name in used or (name in R1_RUNS and "r1_run" in used)}
    root = tmp_path_factory.mktemp("lm_eval_runs")
    started = {}
    try:
        for name in sorted(wanted, key=lambda n: not n.startswith("vllm")):  # the slowest first
            if RUNS[name].model == "vllm" and not vllm_importable():
                continue  # its tests skip (vllm_installed)
            model = request.getfixturevalue(RUNS[name].model_fixture)
            started[name] = _Started(name, RUNS[name], root, offline_env, shared_data, model.path)
        yield started
    finally:
        for run in started.values():
            run.stop()


@pytest.fixture(scope="module")
def hf_run(started_runs) -> Run:
    return started_runs["hf_run"].result()


@pytest.fixture(scope="module")
def vllm_run(vllm_installed, started_runs) -> Run:
    return started_runs["vllm_run"].result()


@pytest.fixture(scope="module")
def hf_chat_run(started_runs) -> Run:
    return started_runs["hf_chat_run"].result()


@pytest.fixture(scope="module")
def hf_think_run(started_runs) -> Run:
    return started_runs["hf_think_run"].result()


@pytest.fixture(scope="module")
def vllm_think_run(vllm_installed, started_runs) -> Run:
    return started_runs["vllm_think_run"].result()


@pytest.fixture(scope="module")
def math500(shared_data) -> list[dict[str, Any]]:
    with (shared_data / "math500" / "test.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


R1_RUNS = ("hf_run", "vllm_run")


@pytest.fixture(params=R1_RUNS)
def r1_run(request) -> Run:
    """The same R1-Zero checks apply to both backends."""
    return request.getfixturevalue(request.param)


def _records(sample: dict[str, Any]) -> list[dict[str, Any]]:
    """The records the samples file holds for a row's responses, one per repeat."""
    return [json.loads(logged) for group in sample["filtered_resps"] for logged in group]


def _answers(sample: dict[str, Any]) -> list[list[str | None]]:
    return [[json.loads(logged)["answer"] for logged in group] for group in sample["filtered_resps"]]


def _prompt(sample: dict[str, Any]) -> str:
    return sample["arguments"]["gen_args_0"]["arg_0"]


def _gen_kwargs(sample: dict[str, Any]) -> dict[str, Any]:
    return sample["arguments"]["gen_args_0"]["arg_1"]


def _deepthink_description() -> str:
    """The system prompt the deepthink tasks declare (YAML ``description``)."""

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    config = yaml.load(Path(_tasks_dir(), "_deepthink.yaml").read_text(encoding="utf-8"), Loader=_Loader)
    return config["description"]


# ---------------------------------------------------------------- R1-Zero, on both backends


def test_r1zero_writes_one_sample_per_doc_and_filter(r1_run):
    for name in R1_ZERO_FILTERS:
        rows = r1_run.task_samples("math500_r1zero", name)
        assert [row["doc_id"] for row in rows] == list(range(LIMIT)), name
    assert {row["filter"] for row in r1_run.samples["math500_r1zero"]} == set(R1_ZERO_FILTERS)
    assert r1_run.results["n-samples"]["math500_r1zero"]["effective"] == LIMIT


def test_r1zero_prompt_is_the_template_around_the_local_problem(r1_run, math500):
    for row in r1_run.samples["math500_r1zero"]:
        doc = math500[row["doc_id"]]
        assert row["doc"]["problem"] == doc["problem"]  # read from --metadata data_dir
        assert row["target"] == doc["answer"]
        prompt = _prompt(row)
        assert prompt == R1_ZERO_PROMPT.format(question=doc["problem"])
        assert prompt.endswith("\nAssistant: <think>")


def test_r1zero_generation_kwargs_keep_the_stop_and_take_the_cli_budget(r1_run):
    for row in r1_run.samples["math500_r1zero"]:
        kwargs = _gen_kwargs(row)
        assert kwargs["until"] == ["</answer>"]
        assert kwargs["max_gen_toks"] == MAX_GEN_TOKS
        # --gen_kwargs overrides only what it names: CS336 sampling stays.
        assert (kwargs["do_sample"], kwargs["temperature"], kwargs["top_p"]) == (True, 1.0, 1.0)


def test_r1zero_stop_string_is_generated_and_cut(r1_run):
    expected = R1_ZERO_RESPONSE.removesuffix("</answer>")
    assert expected != R1_ZERO_RESPONSE
    for row in r1_run.samples["math500_r1zero"]:
        assert row["resps"] == [[expected]]
        assert "</answer>" not in row["resps"][0][0]


def test_r1zero_filters_extract_the_answer_and_see_a_closed_answer_tag(r1_run, tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model.path))
    for row in r1_run.samples["math500_r1zero"]:
        assert _answers(row) == [[R1_ZERO_ANSWER]], row["filter"]  # one record per repeat
        (record,) = _records(row)
        # Counted with the model's own tokenizer, the cut stop string put back as the filter reads it.
        counted = len(tokenizer(row["resps"][0][0] + "</answer>", add_special_tokens=False)["input_ids"])
        assert (record["tokens"], record["max_gen_toks"], record["budget_reached"]) == (counted, MAX_GEN_TOKS, False)
        assert record["verdict"] == record["correct"] == (row["doc"]["answer"] == R1_ZERO_ANSWER)
        assert set(row["metrics"]) == set(R1_ZERO_METRICS)
        # The cut "</answer>" counts as closed, so both format checks pass, in cs336 mode too.
        assert row["format_ok"] == row["format_reward"] == 1.0
        right = float(row["doc"]["answer"] == R1_ZERO_ANSWER)
        assert row["accuracy"] == row["answer_reward"] == row["reward"] == right


def test_r1zero_results_have_every_metric_per_filter(r1_run):
    results = r1_run.results["results"]["math500_r1zero"]
    for name in R1_ZERO_FILTERS:
        for metric in R1_ZERO_METRICS:
            value = results[f"{metric},{name}"]
            assert 0.0 <= value <= 1.0
            assert f"{metric}_stderr,{name}" in results
        # Problem 1's gold is "p - q": one right answer out of three, all well formed.
        assert results[f"format_reward,{name}"] == results[f"format_ok,{name}"] == 1.0
        assert results[f"grader_timeouts,{name}"] == 0.0
        for metric in ("accuracy", "answer_reward", "reward"):
            assert results[f"{metric},{name}"] == pytest.approx(1 / 3), (metric, name)
    assert r1_run.results["higher_is_better"]["math500_r1zero"] == {
        metric: metric not in ("grader_timeouts", "unfinished", "budget_reached") for metric in R1_ZERO_METRICS
    }


# ---------------------------------------------------------------- question_only, on both backends


def test_question_only_prompt_is_the_bare_problem(r1_run, math500):
    rows = r1_run.task_samples("math500_question_only", "extract")
    assert [row["doc_id"] for row in rows] == list(range(LIMIT))
    for row in rows:
        assert _prompt(row) == math500[row["doc_id"]]["problem"]
        kwargs = _gen_kwargs(row)
        assert (kwargs["until"], kwargs["do_sample"], kwargs["max_gen_toks"]) == ([], False, MAX_GEN_TOKS)
        ((response,),), ((answer,),) = row["resps"], _answers(row)
        assert response.strip()
        assert answer is None or isinstance(answer, str)
        assert row["accuracy"] in (0.0, 1.0) and row["format_ok"] in (0.0, 1.0)
    results = r1_run.results["results"]["math500_question_only"]
    assert {key for key in results if "," in key} == {
        "accuracy,extract", "accuracy_stderr,extract", "format_ok,extract", "format_ok_stderr,extract",
        "grader_timeouts,extract", "grader_timeouts_stderr,extract", "unfinished,extract",
        "unfinished_stderr,extract", "budget_reached,extract", "budget_reached_stderr,extract",
    }  # fmt: skip
    assert 0.0 <= results["accuracy,extract"] <= 1.0


# ---------------------------------------------------------------- hf and vllm agree


def test_hf_and_vllm_write_the_same_prompts_and_outputs(hf_run, vllm_run):
    for task in ("math500_r1zero", "math500_question_only"):
        hf_rows, vllm_rows = hf_run.samples[task], vllm_run.samples[task]
        assert [(r["doc_id"], r["filter"]) for r in hf_rows] == [(r["doc_id"], r["filter"]) for r in vllm_rows]
        for hf_row, vllm_row in zip(hf_rows, vllm_rows):
            assert _prompt(hf_row) == _prompt(vllm_row)
            assert hf_row["prompt_hash"] == vllm_row["prompt_hash"]
            # Greedy question_only walks through random weights: the backends must pick the same tokens.
            assert hf_row["resps"] == vllm_row["resps"], (task, hf_row["doc_id"])
            assert hf_row["filtered_resps"] == vllm_row["filtered_resps"]
    for task in ("math500_r1zero", "math500_question_only"):
        assert hf_run.results["results"][task] == vllm_run.results["results"][task]
    assert hf_run.results["config"]["model"] == "hf"
    assert vllm_run.results["config"]["model"] == "vllm"


# ---------------------------------------------------------------- deepthink with the chat template


def test_deepthink_chat_prompt_has_the_system_turn_and_ends_in_the_prefill(hf_chat_run, math500):
    description = _deepthink_description()
    assert "<SOLUTION>" in description
    rows = hf_chat_run.task_samples("math500_deepthink", "lenient")
    assert [row["doc_id"] for row in rows] == list(range(LIMIT))
    for row in rows:
        assert set(row["doc"]) == {"problem", "solution", "answer", "subject", "level", "unique_id"}  # no run settings
        prompt = _prompt(row)
        assert prompt == (
            f"<|im_start|>system\n{description}<|im_end|>\n"
            f"<|im_start|>user\n{math500[row['doc_id']]['problem']}<|im_end|>\n"
            "<|im_start|>assistant\n<start_deepthink>"
        )
        kwargs = _gen_kwargs(row)
        assert (kwargs["until"], kwargs["do_sample"], kwargs["max_gen_toks"]) == (["</SOLUTION>"], False, MAX_GEN_TOKS)
    assert hf_chat_run.results["chat_template"]  # the run recorded the template it applied


def test_deepthink_prefilled_response_is_cut_at_the_stop_and_scored(hf_chat_run):
    expected = DEEPTHINK_RESPONSE.removesuffix("</SOLUTION>")
    assert expected != DEEPTHINK_RESPONSE
    for name in ("lenient", "strict"):
        rows = hf_chat_run.task_samples("math500_deepthink", name)
        assert len(rows) == LIMIT
        for row in rows:
            assert row["resps"] == [[expected]]
            assert _answers(row) == [[DEEPTHINK_ANSWER]]
            assert row["format_ok"] == 1.0
            assert row["accuracy"] == float(row["doc"]["answer"] == DEEPTHINK_ANSWER)
        results = hf_chat_run.results["results"]["math500_deepthink"]
        assert results[f"format_ok,{name}"] == 1.0
        # Problem 2's gold is \frac{14}{3}.
        assert results[f"accuracy,{name}"] == pytest.approx(1 / 3)


# ---------------------------------------------------------------- boxed, with a chat template that opens <think>

BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


@pytest.mark.parametrize("run_name", ["hf_think_run", "vllm_think_run"])
def test_think_template_prompt_opens_the_thinking_after_the_boxed_user_turn(request, run_name, math500):
    run = request.getfixturevalue(run_name)
    rows = run.task_samples("math500_boxed", "extract")
    assert [row["doc_id"] for row in rows] == list(range(LIMIT))
    for row in rows:
        assert _prompt(row) == (
            f"<|im_start|>user\n{math500[row['doc_id']]['problem']}\n{BOXED_INSTRUCTION}<|im_end|>\n"
            "<|im_start|>assistant\n<think>"
        )


def test_finished_thinking_is_graded_on_the_answer_after_it(hf_think_run):
    for row in hf_think_run.task_samples("math500_boxed", "extract"):
        # The whole response: the trace (opened by the template), its end, an <answer> tag and a stated answer.
        assert row["resps"] == [[R1_ZERO_RESPONSE + ANSWER_TAIL]]
        assert _answers(row) == [["7"]]
        assert (row["format_ok"], row["unfinished"], row["budget_reached"], row["accuracy"]) == (1, 0, 0, 0)
    results = hf_think_run.results["results"]["math500_boxed"]
    assert results["unfinished,extract"] == 0 and results["format_ok,extract"] == 1


def test_thinking_cut_off_by_the_budget_is_unfinished_even_after_think_end_token(vllm_think_run):
    assert vllm_think_run.results["configs"]["math500_boxed"]["metadata"]["think_end_token"] == "</think>"
    for row in vllm_think_run.task_samples("math500_boxed", "extract"):
        # One token into the trace: no </think>, so lm-eval keeps the whole text (left-stripped).
        assert row["resps"] == [[R1_ZERO_RESPONSE[: R1_ZERO_RESPONSE.index("</think>")].lstrip()]]
        assert _answers(row) == [[None]]
        (record,) = _records(row)
        assert (record["max_gen_toks"], record["budget_reached"], record["unfinished"]) == (1, True, True)
        assert (row["unfinished"], row["budget_reached"], row["accuracy"]) == (1, 1, 0)
    assert vllm_think_run.results["results"]["math500_boxed"]["unfinished,extract"] == 1
