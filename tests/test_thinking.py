"""Thinking models: only what follows the end of thinking is graded; a trace that never ends is unfinished."""

from __future__ import annotations

import pytest

from lm_eval_math500.grader.thinking import opens_thinking, split_thinking
from lm_eval_math500.harness.filters import ExtractAnswer
from lm_eval_math500.harness.metrics import process_results
from lm_eval_math500.harness.records import Request, RunSettings

DOC = {"problem": "What is 2 + 3?", "answer": "5"}
R1_DISTILL_PROMPT = "<｜User｜>What is 2 + 3?<｜Assistant｜><think>\n"


@pytest.mark.parametrize(
    ("response", "opened", "answer_part", "finished"),
    [
        ("<think>a \\boxed{4}</think> so \\boxed{5}", False, " so \\boxed{5}", True),  # ends
        ("<think>a \\boxed{4} and then", False, "", False),  # never ends
        ("<think>a</think> \\boxed{4} <think>b</think> \\boxed{5}", False, " \\boxed{5}", True),  # ends twice
        ("a</think>b</think>c", True, "c", True),  # ends twice, the prompt opened it
        ("<think>a</think> \\boxed{4} <think>wait, again", False, "", False),  # reopened, never ends
        ("trace with \\boxed{4}", True, "", False),  # the template opened it; never ends
        ("no thinking, \\boxed{5}", False, "no thinking, \\boxed{5}", True),
        ("<start_deepthink>x</end_deepthink><SOLUTION>5", False, "<SOLUTION>5", True),
        ("<|begin_of_thought|>x<|end_of_thought|> \\boxed{5}", False, " \\boxed{5}", True),
        ("<|begin_of_thought|>x is \\boxed{4}", False, "", False),
    ],
)
def test_split_at_the_last_end_of_thinking(response, opened, answer_part, finished):
    thinking = split_thinking(response, opened=opened)
    assert (thinking.answer_part, thinking.finished) == (answer_part, finished)


@pytest.mark.parametrize(
    ("prompt", "opened"),
    [
        (R1_DISTILL_PROMPT, True),
        ("User: q\nAssistant: <think>", True),
        ("<|im_start|>assistant\n<think>\n\n</think>\n\n", False),  # Qwen3 with thinking switched off
        ("<|im_start|>assistant\n", False),
        ("Explain <think> tags.\nAssistant:", False),
    ],
)
def test_a_prompt_opens_thinking_when_it_ends_on_the_opening_tag(prompt, opened):
    assert opens_thinking(prompt) is opened


def grade(
    response: str, *, prompt: str = "", budget: int | None = None, variant="question_only",
    tokenizer: str | None = None, think_end_token: str | None = None,
):  # fmt: skip
    """One response through the extraction filter and the metrics, as the tasks run them."""
    settings = RunSettings(think_end_token=think_end_token, tokenizer=tokenizer)
    [[record]] = ExtractAnswer(variant=variant).records([[response]], [DOC], [Request(prompt, budget)], settings)
    return record, process_results(DOC, [[record]])


@pytest.mark.parametrize(
    ("response", "prompt", "answer", "accuracy", "unfinished"),
    [
        ("<think>2+3 is \\boxed{4}? no</think> The answer is \\boxed{5}.", "", "5", 1, 0),
        ("2+3 is \\boxed{4}? no</think> The answer is \\boxed{5}.", R1_DISTILL_PROMPT, "5", 1, 0),
        ("<think>so it is \\boxed{5}, let me check", "", "", 0, 1),  # the right answer inside the trace
        ("so it is \\boxed{5}, let me check", R1_DISTILL_PROMPT, "", 0, 1),
        ("<think>a</think> \\boxed{4} <think>b</think> \\boxed{5}", "", "5", 1, 0),
        ("<think>a</think> \\boxed{5}</think> \\boxed{4}", "", "4", 0, 0),
        ("<think>it is \\boxed{5}</think> I am not sure.", "", "", 0, 0),  # nothing after the trace
    ],
)
def test_only_what_follows_the_thinking_is_graded(response, prompt, answer, accuracy, unfinished):
    record, scores = grade(response, prompt=prompt)
    assert (record.answer or "", scores["accuracy"], scores["unfinished"]) == (answer, accuracy, unfinished)


def test_r1_zero_response_that_never_closes_its_thinking_is_unfinished():
    prompt = "User: What is 2 + 3?\nAssistant: <think>"
    closed, _ = grade("ok</think> <answer>5</answer>", prompt=prompt, variant="r1_zero")
    unclosed, scores = grade("ok <answer>5</answer>", prompt=prompt, variant="r1_zero")
    assert (closed.answer, closed.format_ok, closed.unfinished) == ("5", True, False)
    assert (unclosed.answer, unclosed.unfinished, scores["accuracy"]) == (None, True, 0)


def test_deepthink_trace_that_never_ends_is_unfinished():
    record, _ = grade("<start_deepthink>x <SOLUTION>5</SOLUTION>", variant="deepthink")
    assert record.unfinished and record.answer is None


@pytest.fixture(scope="module")
def tokenizer(tiny_model) -> str:
    return str(tiny_model.path)


def test_budget_is_counted_with_the_model_tokenizer(tokenizer):
    from transformers import AutoTokenizer

    text = "What is the sum of the first ten primes? " * 4
    count = len(AutoTokenizer.from_pretrained(tokenizer).encode(text, add_special_tokens=False))
    at_budget, scores = grade(text, tokenizer=tokenizer, budget=count)
    assert at_budget.tokens == count and at_budget.max_gen_toks == count
    assert at_budget.budget_reached and scores["budget_reached"] == 1
    assert at_budget.unfinished and scores["accuracy"] == 0  # cut off before it stated an answer
    below, _ = grade(text, tokenizer=tokenizer, budget=count + 5)
    assert not below.budget_reached and not below.unfinished


def test_a_stated_answer_before_the_budget_ran_out_is_graded(tokenizer):
    text = "The answer is \\boxed{5}. " + "Let me double check. " * 10
    record, scores = grade(text, tokenizer=tokenizer, budget=5)
    assert record.budget_reached and not record.unfinished and scores["accuracy"] == 1


def test_without_a_tokenizer_the_budget_is_not_guessed():
    record, scores = grade("x" * 100, budget=10)
    assert not record.budget_reached and record.tokens is None and scores["budget_reached"] == 0


def test_without_a_known_budget_budget_reached_is_not_reported(tokenizer):
    """A replayed generation's budget is unknown: its tokens are counted, the budget is not checked."""
    record, scores = grade("What is the sum? " * 30, tokenizer=tokenizer, budget=None)
    assert record.tokens > 10 and record.max_gen_toks is None
    assert not record.budget_reached and "budget_reached" not in scores


def test_backend_that_dropped_the_trace_leaves_it_whole_when_thinking_never_ended(tokenizer):
    """With lm-eval's think_end_token the backend cuts through </think>, or keeps all when it is missing."""
    run = {"tokenizer": tokenizer, "think_end_token": "</think>"}
    trace = "so it is \\boxed{5}, let me check " * 8
    cut, scores = grade(trace, prompt=R1_DISTILL_PROMPT, budget=20, **run)
    assert cut.budget_reached and cut.unfinished and scores["accuracy"] == 0
    answer, scores = grade("The answer is \\boxed{5}.", prompt=R1_DISTILL_PROMPT, budget=20, **run)
    assert not answer.unfinished and scores["accuracy"] == 1


def test_the_former_extract_reads_as_records_do_without_run_settings():
    responses, requests = [["<think>a</think> so \\boxed{5}", "no answer"]], [Request("", 10)]
    extractor = ExtractAnswer(variant="question_only")
    assert extractor.extract(responses, [DOC], requests) == extractor.records(responses, [DOC], requests, RunSettings())
    assert [r.answer for r in extractor.extract(responses, [DOC])[0]] == ["5", None]
