"""The rewards are the tasks' verdicts: every published replay, rewarded outside the run, gives the
verdict the task recorded for each response; and each thing a task knows about its run (the prompt,
a cut stop string, the problem, the budget) changes the reward as it changes the verdict."""

from __future__ import annotations

import doctest
import importlib.util
import json
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path

import lm_eval
import pytest
from lm_eval.tasks import TaskManager

import lm_eval_math500.rewards as rewards
from conftest import SHARED_DATA
from lm_eval_math500.cli import tasks_dir
from lm_eval_math500.harness.records import Record, read_record
from lm_eval_math500.harness.replay import ReplayLM, problem_key, read_generations
from lm_eval_math500.rewards import (
    MathReward,
    RewardConfig,
    compute_score,
    deepthink_reward,
    grade_batch,
    math_reward,
    question_only_reward,
    r1_zero_reward,
)

RUNS = SHARED_DATA / "published_runs"


@dataclass(frozen=True)
class Replay:
    """A published run replayed through a task, as tests/test_tasks.py replays them."""

    file: str
    task: str
    keep_stop: bool = False
    repeats: int = 1
    responses: int = 500  # every response of the file


REPLAYS = {
    # CS336's outputs kept the stop string (vLLM's include_stop_str_in_output): the task sees it kept.
    "cs336-base": Replay("qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl", "math500_r1zero", keep_stop=True),
    # The same outputs cut at the stop string, as a backend cuts it: the task restores it.
    "cs336-base-cut": Replay("qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl", "math500_r1zero"),
    "cs336-instruct": Replay("qwen25_math_1.5b_instruct__math500__r1zero_t1.0_max1024__results.jsonl", "math500_r1zero", keep_stop=True),
    "cs336-instruct-boxed": Replay("qwen25_math_1.5b_instruct__math500__r1zero_t1.0_max1024__results.jsonl", "math500_boxed"),
    "qwen-8-samples": Replay("qwen25_math_instruct__math_first100__cot_t0.7_n8__qwenlm.jsonl", "math_validation_question_only", repeats=8, responses=800),
    "sky-t1": Replay("sky_t1_math_correct_5k_27b_gemma2__math500__skyt1_greedy_max32768__skythought.jsonl", "math500_boxed"),
}  # fmt: skip
# How many responses each filter's verdict counts right (the task's own numbers; tasks/README.md).
RIGHT = {
    "cs336-base": {"tags": 27, "cs336": 18},
    "cs336-base-cut": {"tags": 27, "cs336": 18},
    "cs336-instruct": {"tags": 0, "cs336": 0},  # the template trap: no R1-Zero format at all
    "cs336-instruct-boxed": {"extract": 249},
    "qwen-8-samples": {"extract": 737},
    "sky-t1": {"extract": 313},
}
# The task variant of each task, as the rewards spell it.
VARIANTS = {"math500_r1zero": "r1_zero", "math500_boxed": "boxed", "math_validation_question_only": "question_only"}


def replay_samples(replay: Replay) -> list[dict]:
    """The task's logged samples for every problem of the published file (one row per problem and filter)."""
    path = RUNS / replay.file
    manager = TaskManager(include_path=str(tasks_dir()), include_defaults=False, metadata={"data_dir": str(SHARED_DATA)})
    task = manager.load([replay.task])["tasks"][replay.task]
    task.set_config(key="repeats", value=replay.repeats)
    saved = read_generations(path)
    doc_ids = [i for i, doc in enumerate(task.test_docs()) if problem_key(doc["problem"]) in saved]
    results = lm_eval.simple_evaluate(
        model=ReplayLM(path=str(path), keep_stop=replay.keep_stop),
        tasks=[task],
        task_manager=manager,
        samples={replay.task: doc_ids},
        log_samples=True,
        bootstrap_iters=0,
    )
    return results["samples"][replay.task]


@dataclass
class Graded:
    """Every response of one filter of a replay: what the task had, and the verdict it recorded."""

    variant: str
    filter_name: str
    stop_cut: bool
    responses: list[str] = field(default_factory=list)
    golds: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)  # the task's, one per response

    @property
    def metric(self) -> str:
        """The filter's verdict metric: the answer in the format on r1_zero, the answer alone elsewhere."""
        return "answer_reward" if self.variant == "r1_zero" else "accuracy"


@pytest.fixture(scope="module", params=list(REPLAYS), ids=list(REPLAYS))
def replayed(request) -> list[Graded]:
    replay = REPLAYS[request.param]
    variant = VARIANTS[replay.task]
    # The stop string is cut where the replay cut it, as the backends do (and as the task decided).
    stop_cut = variant == "r1_zero" and not replay.keep_stop
    by_filter: dict[str, Graded] = {}
    for sample in replay_samples(replay):
        records = [read_record(str(record)) for record in sample["filtered_resps"][0]]
        texts = [str(text) for text in sample["resps"][0]]
        assert len(records) == len(texts) == replay.repeats
        graded = by_filter.setdefault(sample["filter"], Graded(variant, sample["filter"], stop_cut))
        # The task's metric for the problem is the mean of its records' verdicts.
        assert sample[graded.metric] == pytest.approx(sum(r.verdict for r in records) / len(records))
        graded.responses += texts
        graded.golds += [sample["doc"]["answer"]] * len(texts)
        graded.problems += [sample["doc"]["problem"]] * len(texts)
        graded.prompts += [sample["arguments"][0][0]] * len(texts)
        graded.records += records
    assert {name: sum(r.verdict for r in graded.records) for name, graded in by_filter.items()} == RIGHT[request.param]
    assert {len(graded.responses) for graded in by_filter.values()} == {replay.responses}
    return list(by_filter.values())


def differences(graded: Graded, rewards_found: list) -> list[tuple[int, float, bool]]:
    return [(i, got, r.verdict) for i, (got, r) in enumerate(zip(rewards_found, graded.records, strict=True)) if got != r.verdict]


def test_grade_batch_gives_the_task_verdicts(replayed):
    for graded in replayed:
        verdicts = grade_batch(
            graded.responses, graded.golds, graded.problems,
            variant=graded.variant, filter_name=graded.filter_name, stop_cut=graded.stop_cut,
        )  # fmt: skip
        assert [(v.correct, v.reason, v.pred, v.format_ok, v.timed_out) for v in verdicts] == [
            (r.correct, r.reason, r.answer, r.format_ok, r.timed_out) for r in graded.records
        ]
        counts_format = graded.metric == "answer_reward"
        assert differences(graded, [v.correct and (v.format_ok or not counts_format) for v in verdicts]) == []


def test_the_trl_reward_reads_the_task_prompts_and_gives_the_task_verdicts(replayed):
    for graded in replayed:
        reward = math_reward(graded.variant, filter_name=graded.filter_name, gold_column="answer", stop_cut=graded.stop_cut)
        found = reward(graded.responses, prompts=graded.prompts, answer=graded.golds, problem=graded.problems)
        assert differences(graded, found) == []


def test_the_reward_triples_and_verls_score_give_the_task_verdicts(replayed):
    for graded in replayed:
        found, scores = [], []
        for response, gold, problem in zip(graded.responses, graded.golds, graded.problems):
            if graded.variant == "r1_zero":
                triple = r1_zero_reward(response, gold, format_mode=graded.filter_name, problem=problem, stop_cut=graded.stop_cut)
            else:
                triple = question_only_reward(response, gold, problem=problem)
            found.append(triple["answer_reward"])
            assert triple["reward"] == triple["answer_reward"]
            score = compute_score(
                "math500", response, gold, {"problem": problem},
                variant=graded.variant, filter_name=graded.filter_name, stop_cut=graded.stop_cut,
            )  # fmt: skip
            scores.append(score["score"])
        assert differences(graded, found) == []
        assert differences(graded, scores) == []


R1 = " 1 + 1 = 2 </think> <answer>2</answer>"


@pytest.mark.parametrize(
    ("function", "response", "kwargs", "expected"),
    [
        (r1_zero_reward, R1, {}, (1.0, 1.0)),
        (r1_zero_reward, " 1 + 1 = 2 </think> <answer>3</answer>", {}, (1.0, 0.0)),
        (r1_zero_reward, " 1 + 1 = 2 </think>\n<answer>2</answer>", {}, (0.0, 0.0)),
        (r1_zero_reward, " 1 + 1 = 2 </think>\n<answer>2</answer>", {"format_mode": "tags"}, (1.0, 1.0)),
        (r1_zero_reward, " 1 + 1 = 2 </think> <answer>2", {}, (0.0, 0.0)),
        (r1_zero_reward, " 1 + 1 = 2 </think> <answer>2", {"stop_cut": True}, (1.0, 1.0)),
        (r1_zero_reward, "1 + 1 = 2, so the answer is 2", {}, (0.0, 0.0)),
        (deepthink_reward, "<start_deepthink>1+1</end_deepthink><SOLUTION>2</SOLUTION>", {}, (1.0, 1.0)),
        (deepthink_reward, "1 + 1 = 2, so $\\boxed{2}$", {}, (0.0, 1.0)),
        (deepthink_reward, "1 + 1 = 2, so $\\boxed{2}$", {"strict": True}, (0.0, 0.0)),
        (deepthink_reward, "1 + 1 = 2, so $\\boxed{2}$", {"thinking_opened": True}, (0.0, 0.0)),
        (question_only_reward, "1 + 1 = 2, so $\\boxed{2}$", {}, (1.0, 1.0)),
        (question_only_reward, "I cannot say.", {}, (1.0, 0.0)),
        (question_only_reward, "<think>1 + 1 = 2</think> so $\\boxed{2}$", {}, (1.0, 1.0)),
        (question_only_reward, "1 + 1 = 2, so $\\boxed{2}$", {"thinking_opened": True}, (1.0, 0.0)),
    ],
)
def test_reward_triples(function, response, kwargs, expected):
    """CS336's triple: format_reward (1.0 where the variant asks for no format), answer_reward, reward."""
    triple = function(response, "2", **kwargs)
    assert (triple["format_reward"], triple["answer_reward"]) == expected
    assert triple["reward"] == triple["answer_reward"]


@pytest.mark.parametrize(
    ("gold", "expected"),
    [
        ("2", 1.0),
        (2, 1.0),
        ("We add: $1 + 1 = \\boxed{2}$.", 1.0),  # a MATH solution: its last box
        ("We add: $1 + 1 = \\boxed{3}$ and then $\\boxed{2}$.", 1.0),
        ("1 + 1 is 2.\n#### 2", 1.0),  # a GSM8K solution: the number after ####
        ("We add: $1 + 1 = \\boxed{3}$.", 0.0),
    ],
)
def test_the_gold_may_be_an_answer_or_a_whole_solution(gold, expected):
    assert r1_zero_reward(R1, gold)["answer_reward"] == expected


def test_the_problem_text_enforces_the_form_it_asks_for():
    response = " half </think> <answer>0.5</answer>"
    assert r1_zero_reward(response, "\\frac{1}{2}")["reward"] == 1.0
    asked = "What is half of 1? Express your answer as a common fraction."
    assert r1_zero_reward(response, "\\frac{1}{2}", problem=asked)["reward"] == 0.0
    reward = math_reward()
    assert reward([response], solution=["\\frac{1}{2}"], problem=[asked]) == [0.0]
    assert compute_score("math", response, "\\frac{1}{2}", {"question": asked})["score"] == 0.0
    assert compute_score("math", response, "\\frac{1}{2}")["score"] == 1.0


R1_PROMPT_END = "\nAssistant: <think>"


@pytest.mark.parametrize(
    ("variant", "prompt", "thinking_opened", "expected"),
    [
        # A text prompt is read as the task reads its own: one ending in <think> opens the thinking.
        ("question_only", "What is 1 + 1?", None, 1.0),
        ("question_only", "What is 1 + 1?<think>", None, 0.0),
        ("question_only", "What is 1 + 1?", True, 0.0),
        # A chat prompt (messages) or none: as the variant's task prompt does, unless told.
        ("question_only", [{"role": "user", "content": "What is 1 + 1?"}], None, 1.0),
        ("question_only", [{"role": "user", "content": "What is 1 + 1?"}], True, 0.0),
        ("question_only", None, None, 1.0),
    ],
)
def test_whether_the_prompt_opened_the_thinking(variant, prompt, thinking_opened, expected):
    """The response never closes a thinking block: wrong where the prompt opened one, else read whole."""
    reward = math_reward(variant, thinking_opened=thinking_opened, problem_column=None)
    prompts = None if prompt is None else [prompt]
    assert reward(["1 + 1 = 2, so $\\boxed{2}$"], prompts=prompts, solution=["2"]) == [expected]


@pytest.mark.parametrize(
    ("completion_tokens", "budget", "expected"),
    [(10, 10, 0.0), (10, None, 1.0), (5, 10, 1.0)],
    ids=["used-up", "no-budget", "under-budget"],
)
def test_a_completion_that_used_up_the_budget_without_stating_an_answer_is_unfinished(completion_tokens, budget, expected):
    """As the task counts it when it knows the budget: the concluding value of a cut-off response is no answer."""
    reward = math_reward("question_only", max_completion_length=budget, problem_column=None)
    found = reward(["1 + 1 makes 2"], completion_ids=[list(range(completion_tokens))], solution=["2"])
    assert found == [expected]
    # A stated answer counts even at the budget.
    stated = reward(["so $\\boxed{2}$"], completion_ids=[list(range(completion_tokens))], solution=["2"])
    assert stated == [1.0]


def test_trl_reward_takes_chat_completions_and_returns_none_without_a_gold():
    reward = math_reward(problem_column=None)
    completions = [[{"role": "assistant", "content": R1}], R1, R1]
    assert reward(completions, solution=["2", "2", None]) == [1.0, 1.0, None]
    assert reward(completions, solution=["3", "", "\\boxed{}"]) == [0.0, None, None]


def test_trl_reward_logs_the_answer_and_the_reason():
    logged = {}
    reward = math_reward(problem_column=None)
    reward([R1, "nothing"], solution=["2", "2"], log_extra=lambda column, values: logged.setdefault(column, values))
    assert logged == {
        "r1_zero_cs336 pred": ["2", None],
        "r1_zero_cs336 reason": ["same string", "no final answer"],
    }


def test_trl_reward_names_a_missing_column():
    with pytest.raises(KeyError, match="no column 'solution'.*columns: answer, problem.*gold_column"):
        math_reward()([R1], answer=["2"], problem=["p"])
    with pytest.raises(KeyError, match="no column 'problem'.*problem_column=None"):
        math_reward()([R1], solution=["2"])


def test_trl_reward_is_a_picklable_function_named_after_its_filter():
    reward = math_reward("deepthink", filter_name="strict", gold_column="answer")
    assert reward.__name__ == "deepthink_strict"
    assert math_reward().__name__ == "r1_zero_cs336"
    assert pickle.loads(pickle.dumps(reward)) == reward
    assert isinstance(reward, MathReward) and reward.config == RewardConfig("deepthink", "strict")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"variant": "r1zero"}, ValueError, "unknown variant 'r1zero'; allowed: r1_zero, deepthink, question_only, boxed"),
        ({"filter_name": "strict"}, ValueError, "the r1_zero tasks have no filter 'strict'; allowed: tags, cs336"),
        ({"variant": "boxed", "filter_name": "cs336"}, ValueError, "the boxed tasks have no filter 'cs336'; allowed: extract"),
    ],
)
def test_bad_settings_name_the_allowed_ones(kwargs, error, message):
    with pytest.raises(error, match=message):
        grade_batch([R1], ["2"], **kwargs)
    with pytest.raises(error, match=message):
        math_reward(**kwargs)


def test_grade_batch_rejects_missing_golds_and_uneven_lengths():
    with pytest.raises(TypeError, match="not None"):
        grade_batch([R1, R1], ["2", None])
    with pytest.raises(ValueError, match="got 2 responses, 1 golds"):
        grade_batch([R1, R1], ["2"])
    with pytest.raises(ValueError, match="2 problems"):
        grade_batch([R1], ["2"], ["p", "q"])


def test_bad_outputs_are_wrong_answers_not_crashes():
    bad = ["", None, 7, "<answer>", "\\boxed{\\frac{1}{2}", "}}}{{{ \\boxed{{{{ }", "\x00\x01 <SOLUTION>\x7f"]
    for variant in ("r1_zero", "deepthink", "question_only", "boxed"):
        verdicts = grade_batch(bad, ["1"] * len(bad), variant=variant)
        assert [v.correct for v in verdicts] == [False] * len(bad)


def test_grade_batch_is_deterministic_in_order_and_over_processes():
    """Verdicts come back in input order, whatever the number of verdicts worked on at once."""
    graderbench = SHARED_DATA / "graderbench" / "processbench_labelled.jsonl"
    rows = [json.loads(line) for line in graderbench.open()][:300]
    args = ([r["model_solution"] for r in rows], [r["gold_answer"] for r in rows], [r["problem"] for r in rows])
    one = grade_batch(*args, variant="question_only", processes=1)
    assert 100 < sum(v.correct for v in one) < 300
    assert grade_batch(*args, variant="question_only", processes=8) == one
    backwards = grade_batch(*(list(reversed(a)) for a in args), variant="question_only", processes=3)
    assert list(reversed(backwards)) == one


def test_docstring_examples():
    assert doctest.testmod(rewards, optionflags=doctest.ELLIPSIS).failed == 0


def test_verl_score_carries_the_fields_verl_logs():
    assert compute_score("lighteval/MATH", R1, "2") == {"score": 1.0, "format_ok": True, "reason": "same string", "pred": "2"}
    assert compute_score("gsm8k", "no tags at all: 2", "2") == {
        "score": 0.0, "format_ok": False, "reason": "no final answer", "pred": "",
    }  # fmt: skip
    boxed = compute_score("gsm8k", "so $\\boxed{2}$", "#### 2", variant="boxed")
    assert boxed["score"] == 1.0 and boxed["format_ok"]


@pytest.mark.parametrize("registered", [False, True], ids=["bare", "in-sys-modules"])
def test_the_module_file_loads_as_verl_loads_a_custom_reward_file(registered, monkeypatch):
    """verl imports ``custom_reward_function.path`` as a module of its own and takes ``name`` from it."""
    spec = importlib.util.spec_from_file_location("custom_module", Path(rewards.__file__))
    module = importlib.util.module_from_spec(spec)
    if registered:
        monkeypatch.setitem(sys.modules, "custom_module", module)
    spec.loader.exec_module(module)
    assert getattr(module, "compute_score")("math", R1, "2")["score"] == 1.0
