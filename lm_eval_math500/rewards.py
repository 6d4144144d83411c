r"""Rewards for training on the tasks' own verdicts: CS336's reward triple, a TRL reward function,
verl's ``compute_score`` and batch grading.

Every reward reads a response with the extraction filter a task runs (the :class:`Extractor` its YAML
configures: thinking split, unfinished responses, restoring a cut stop string, format check) and
grades it with the grader the task uses, so a response's reward is the task's verdict on it under
that filter: ``answer_reward`` on the r1_zero filters (the answer right *and* the filter's format),
``accuracy`` on the others. What a task learns from its run and a lone response does not say is
given explicitly (:class:`RewardConfig`): whether the prompt opened the thinking, whether the
backend cut the stop string, and the problem text, which lets the grader enforce the form a
problem asks for ("common fraction", "simplest radical form").

Grading needs no ``if __name__ == "__main__":`` guard and works in threads, daemonic
``multiprocessing`` workers, ``concurrent.futures`` pools and forked children; its worker processes
exit with the process that grades, even after SIGKILL (:mod:`lm_eval_math500.grader.worker`).
The file also loads as verl loads a custom reward file (a module of its own, by path), so it has
no ``from __future__ import annotations``: dataclasses read such annotations through the module's
entry in ``sys.modules``, which a module loaded by path may not have.
"""

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, get_args

from lm_eval_math500.grader.equivalence import Verdict
from lm_eval_math500.grader.formats import FORMATS, TASK_VARIANTS, THINKING_MARKERS
from lm_eval_math500.grader.inputs import answer_text, problem_text
from lm_eval_math500.grader.worker import POOL
from lm_eval_math500.harness.datasets import gsm8k_answer, last_boxed
from lm_eval_math500.harness.metrics import doc_verdict
from lm_eval_math500.harness.records import (
    Extractor,
    Record,
    Request,
    RunSettings,
    prompt_opens_thinking,
    task_filters,
)

# The prompt variants, spelled as the graders spell them (``boxed`` reads responses as question_only).
TaskVariant = Literal["r1_zero", "deepthink", "question_only", "boxed"]
TASK_VARIANT_NAMES: tuple[str, ...] = get_args(TaskVariant)
# The filter a reward follows unless told otherwise: CS336's literal format check for r1_zero (its
# `r1_zero_reward_fn`), deepthink's lenient reading, the one filter of the others.
DEFAULT_FILTERS = {"r1_zero": "cs336", "deepthink": "lenient", "question_only": "extract", "boxed": "extract"}
_OPENING = THINKING_MARKERS[0][0]  # a prompt ending in this opens the thinking


def _task_suffix(variant: str) -> str:
    """The spelling of the variant in task names and YAML files (``r1_zero`` is ``r1zero``)."""
    return FORMATS[variant].task_suffix if variant in FORMATS else variant


@dataclass(frozen=True)
class RewardConfig:
    """How responses are read: as one filter of a prompt variant's tasks reads them, with what a run
    of that task would know about them.

    Attributes:
        variant: the prompt variant the responses answer: ``r1_zero``, ``deepthink``,
            ``question_only`` or ``boxed``.
        filter_name: the task's filter whose verdict is the reward: ``cs336`` (default) or ``tags``
            for r1_zero, ``lenient`` (default) or ``strict`` for deepthink, ``extract`` for the others
            (tasks/README.md describes each).
        thinking_opened: whether the prompt opened the thinking, so a response starts inside the
            trace and is unfinished unless it closes it. None: as the variant's task prompt does
            (the r1_zero prompt ends in ``<think>``; the others open nothing), or, given a text
            prompt, as that prompt does. Set True for a chat template or prefill that opens it
            (DeepSeek-R1-Distill's template, deepthink's ``<start_deepthink>`` prefill).
        stop_cut: whether the stop string (``</answer>``, ``</SOLUTION>``) was cut from the
            responses, so an answer tag left open at the end was closed by it. False fits TRL and
            verl, which decode the generated token ids (those keep the stop string even where
            vLLM's text drops it), and vLLM with ``include_stop_str_in_output=True`` (CS336's
            scripts). True fits vLLM's ``.text`` with a stop string and lm-eval's outputs. Only
            answer tags left open at the end differ: with it an answer cut off by the token budget
            counts as closed.
    """

    variant: TaskVariant = "r1_zero"
    filter_name: str | None = None
    thinking_opened: bool | None = None
    stop_cut: bool = False

    def __post_init__(self) -> None:
        if self.variant not in TASK_VARIANT_NAMES:
            raise ValueError(f"unknown variant {self.variant!r}; allowed: {', '.join(TASK_VARIANT_NAMES)}")
        filters = task_filters(_task_suffix(self.variant))
        if self.filter_name is not None and self.filter_name not in filters:
            raise ValueError(
                f"the {self.variant} tasks have no filter {self.filter_name!r}; allowed: {', '.join(filters)}"
            )

    @property
    def filter(self) -> str:
        """The filter the reward follows: the one named, else the variant's default."""
        return self.filter_name or DEFAULT_FILTERS[self.variant]

    @property
    def extractor(self) -> Extractor:
        """The extraction filter of the variant's task YAML that reads the responses."""
        return task_filters(_task_suffix(self.variant))[self.filter]

    @property
    def name(self) -> str:
        """Variant and filter, e.g. ``r1_zero_cs336``: how trainers label the reward in their logs."""
        return f"{self.variant}_{self.filter}"

    def request(self, prompt: Any = None, budget: int | None = None) -> Request:
        """The request a response answers, as the filter reads it: a text prompt as it is unless
        :attr:`thinking_opened` says otherwise, else a prompt that opens the thinking or not."""
        if self.thinking_opened is None and isinstance(prompt, str):
            return Request(prompt, budget)
        opened = self.thinking_opened
        if opened is None:
            opened = prompt_opens_thinking(_task_suffix(self.variant))
        return Request(_OPENING if opened else "", budget)


def _reference(gold: Any) -> str | None:
    r"""The answer a reference states: the last ``\boxed{}`` of a MATH solution (as the datasets read
    their golds), the number after ``####`` of a GSM8K solution, else the text itself; None when
    there is none (a missing gold, or an empty one)."""
    text = answer_text(gold, "gold", none_allowed=True)
    if text is None:
        return None
    if "\\boxed" in text or "\\fbox" in text:
        text = last_boxed(text) or ""
    elif "####" in text:
        text = gsm8k_answer(text)
    return text if text.strip() else None


def _spread(function: Callable[[Any], Verdict], items: list[Any], processes: int | None) -> list[Verdict]:
    """``function`` over ``items`` in order, ``processes`` at a time (default: one per CPU)."""
    workers = min(len(items), processes or os.cpu_count() or 1)
    if workers <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


def _graded_records(
    responses: Sequence[Any],
    golds: Sequence[Any],
    problems: Sequence[Any] | None,
    config: RewardConfig,
    *,
    prompts: Sequence[Any] | None = None,
    tokens: Sequence[int | None] | None = None,
    budget: int | None = None,
    processes: int | None = None,
) -> list[Record]:
    """One record per response, read by the config's filter and completed with its verdict; a
    response whose gold is missing keeps an ungraded record (``verdict`` None)."""
    count = len(responses)
    problems = [None] * count if problems is None else list(problems)
    prompts = [None] * count if prompts is None else list(prompts)
    tokens = [None] * count if tokens is None else list(tokens)
    if not len(golds) == len(problems) == len(prompts) == len(tokens) == count:
        raise ValueError(
            f"got {count} responses, {len(golds)} golds, {len(problems)} problems, {len(prompts)} prompts "
            f"and {len(tokens)} token counts; give one of each per response"
        )
    references = [_reference(gold) for gold in golds]
    POOL.warm_up()  # the symbolic helper starts while the responses are read
    extractor, settings = config.extractor, RunSettings()
    records = []
    for response, problem, prompt, length in zip(responses, problems, prompts, tokens):
        text = answer_text(response, "response", none_allowed=True) or ""
        doc = {"problem": problem_text(problem)}
        request = config.request(prompt, budget)
        records.append(extractor.record(text, doc, request, settings, stop_cut=config.stop_cut, tokens=length))
    # Each distinct answer is graded once against each gold, as the task grades a problem's repeats.
    keys = [(r.answer, gold, p) for r, gold, p in zip(records, references, problems)]
    distinct = list(dict.fromkeys(key for key in keys if key[1] is not None))
    graded = _spread(lambda key: doc_verdict(key[0], {"answer": key[1], "problem": key[2]}), distinct, processes)
    verdicts = dict(zip(distinct, graded, strict=True))
    for record, key in zip(records, keys):
        if key[1] is not None:
            record.complete(verdicts[key])
    return records


def grade_batch(
    responses: Sequence[str | None],
    golds: Sequence[str | float | int],
    problems: Sequence[str | None] | None = None,
    *,
    variant: TaskVariant = "r1_zero",
    filter_name: str | None = None,
    thinking_opened: bool | None = None,
    stop_cut: bool = False,
    processes: int | None = None,
) -> list[Verdict]:
    r"""Grade many responses as a task's filter does: one :class:`Verdict` per response, in order.

    ``correct`` is whether the answer equals the gold (the task's ``accuracy``) and ``format_ok``
    whether the filter's format held; the task's verdict, and the reward, is ``correct`` on
    ``accuracy`` filters and ``correct and format_ok`` on r1_zero's. Each distinct answer is graded
    once per gold. Reading the responses takes milliseconds in this process; the verdicts run
    ``processes`` at a time (default: one per CPU), each in-process parse followed where needed by a
    symbolic check in the grader's own worker processes under its CPU-time limit, so the verdicts
    do not depend on ``processes``, the machine's load or the order of the batch.

    Args:
        responses: the model outputs (None: no output, which is wrong).
        golds: the reference answers, or whole solutions (their last ``\boxed{}``, or the number
            after GSM8K's ``####``, is the gold); None raises TypeError.
        problems: the problem texts, for the forms they ask for (None: no form is enforced).
        variant, filter_name, thinking_opened, stop_cut: see :class:`RewardConfig`.
        processes: how many verdicts are worked on at once.

    Raises:
        ValueError: for an unknown variant or filter, or sequences of different lengths.
        TypeError: for a missing gold, or an argument that is neither text nor a number.
    """
    if any(gold is None for gold in golds):
        raise TypeError("golds must be strings or numbers, not None; give every response its gold")
    config = RewardConfig(variant, filter_name, thinking_opened, stop_cut)
    records = _graded_records(responses, golds, problems, config, processes=processes)
    return [Verdict(r.correct, r.reason, r.answer, r.format_ok, r.timed_out) for r in records]


def _triple(record: Record, variant: TaskVariant) -> dict[str, float]:
    """CS336's reward dict: the format (1.0 where the variant asks for none), the task's verdict, and
    the reward, which is the verdict."""
    has_format = TASK_VARIANTS[_task_suffix(variant)].answer_tags is not None
    verdict = float(record.verdict)
    return {"format_reward": float(record.format_ok) if has_format else 1.0, "answer_reward": verdict, "reward": verdict}


def _one(response: Any, ground_truth: Any, problem: Any, config: RewardConfig) -> dict[str, float]:
    """The reward triple of one response."""
    if ground_truth is None:
        raise TypeError("ground_truth must be a string or a number, not None")
    (record,) = _graded_records([response], [ground_truth], [problem], config, processes=1)
    return _triple(record, config.variant)


def r1_zero_reward(
    response: str,
    ground_truth: str | float | int,
    *,
    format_mode: Literal["cs336", "tags"] = "cs336",
    problem: str | None = None,
    thinking_opened: bool | None = None,
    stop_cut: bool = False,
) -> dict[str, float]:
    r"""CS336's ``r1_zero_reward_fn`` on the tasks' verdicts: ``{"format_reward", "answer_reward",
    "reward"}``, each 0.0 or 1.0, equal to the ``math500_r1zero`` task's metrics under the filter
    ``format_mode`` names.

    ``format_reward``: the format holds (``cs336``: the literal ``</think> <answer>`` and
    ``</answer>``; ``tags``: ``</think>``, whitespace, ``<answer>``). ``answer_reward`` and
    ``reward``: the format holds and the answer equals the gold. ``ground_truth`` may be the answer
    or the whole solution (its last ``\boxed{}``). The response starts inside ``<think>``, as after
    the r1_zero prompt; the other arguments are :class:`RewardConfig`'s.

    >>> r1_zero_reward(" 2+2 is 4 </think> <answer>4</answer>", "4")
    {'format_reward': 1.0, 'answer_reward': 1.0, 'reward': 1.0}
    >>> r1_zero_reward(" 2+2 is 4 </think><answer>4</answer>", "4")  # no space: not CS336's format
    {'format_reward': 0.0, 'answer_reward': 0.0, 'reward': 0.0}
    """
    return _one(response, ground_truth, problem, RewardConfig("r1_zero", format_mode, thinking_opened, stop_cut))


def deepthink_reward(
    response: str,
    ground_truth: str | float | int,
    *,
    strict: bool = False,
    problem: str | None = None,
    thinking_opened: bool | None = None,
    stop_cut: bool = False,
) -> dict[str, float]:
    r"""The ``math500_deepthink`` task's verdict as a reward triple: ``format_reward`` is
    ``<SOLUTION>`` after the thinking, ``answer_reward`` and ``reward`` whether the answer is right
    (the task's ``accuracy`` under the ``lenient`` filter, or ``strict``, which takes no answer
    outside the format). Set ``thinking_opened=True`` when the response was prefilled with
    ``<start_deepthink>``; the other arguments are :class:`RewardConfig`'s.

    >>> deepthink_reward("<start_deepthink> 3*4 </end_deepthink><SOLUTION>12</SOLUTION>", "12")
    {'format_reward': 1.0, 'answer_reward': 1.0, 'reward': 1.0}
    """
    config = RewardConfig("deepthink", "strict" if strict else "lenient", thinking_opened, stop_cut)
    return _one(response, ground_truth, problem, config)


def question_only_reward(
    response: str,
    ground_truth: str | float | int,
    *,
    problem: str | None = None,
    thinking_opened: bool | None = None,
) -> dict[str, float]:
    r"""The ``question_only`` (and ``boxed``) tasks' verdict as a reward triple: ``answer_reward`` and
    ``reward`` whether the answer (the last committed ``\boxed{}``, else a stated answer, else the
    concluding value, after any thinking) is right; ``format_reward`` is 1.0, since these prompts ask
    for no format. Set ``thinking_opened=True`` when a chat template opened the thinking.

    >>> question_only_reward(r"Half of 1 is $\boxed{0.5}$.", r"\frac{1}{2}")
    {'format_reward': 1.0, 'answer_reward': 1.0, 'reward': 1.0}
    """
    return _one(response, ground_truth, problem, RewardConfig("question_only", None, thinking_opened))


@dataclass(frozen=True)
class MathReward:
    """A reward function for TRL's ``GRPOTrainer`` (``reward_funcs=[math_reward(...)]``): one float
    per completion, the task's verdict under :attr:`config`, or None (TRL's "not applicable") where
    the row has no gold. A frozen, picklable callable, so trainers may hand it to worker processes.

    Attributes:
        config: how completions are read (:class:`RewardConfig`).
        gold_column: the dataset column holding the gold, an answer or a whole solution (its last
            ``\\boxed{}``, or GSM8K's ``#### N``).
        problem_column: the dataset column holding the problem text, for the forms it asks for;
            None to grade without it.
        max_completion_length: the trainer's ``max_completion_length``. Given it, a completion that
            used it up (counted in its ``completion_ids``) before stating an answer is unfinished and
            wrong, as the task counts it; None: completions are not checked against a budget.
    """

    config: RewardConfig = RewardConfig()
    gold_column: str = "solution"
    problem_column: str | None = "problem"
    max_completion_length: int | None = None

    @property
    def __name__(self) -> str:
        """The name TRL logs the reward under (``rewards/<name>/mean``), e.g. ``r1_zero_cs336``."""
        return self.config.name

    def __call__(
        self,
        completions: Sequence[str | Sequence[Mapping[str, Any]]],
        prompts: Sequence[Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        log_extra: Callable[[str, list], None] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        """The rewards of a batch. TRL passes ``prompts``, ``completions`` (text, or chat messages
        whose last message is graded), ``completion_ids``, every dataset column by name, and
        ``log_extra``, through which the extracted answer and the grader's reason are logged."""
        golds = self._column(self.gold_column, columns, len(completions))
        problems = self._column(self.problem_column, columns, len(completions)) if self.problem_column else None
        texts = [_completion_text(completion) for completion in completions]
        tokens = None
        if self.max_completion_length is not None and completion_ids is not None:
            tokens = [len(ids) for ids in completion_ids]
        records = _graded_records(
            texts, golds, problems, self.config, prompts=prompts, tokens=tokens, budget=self.max_completion_length
        )
        if log_extra is not None:
            log_extra(f"{self.__name__} pred", [r.answer for r in records])
            log_extra(f"{self.__name__} reason", [r.reason for r in records])
        return [None if r.verdict is None else float(r.verdict) for r in records]

    @staticmethod
    def _column(name: str, columns: Mapping[str, Any], count: int) -> list[Any]:
        if name not in columns:
            known = ", ".join(sorted(key for key in columns if isinstance(columns[key], list))) or "none"
            raise KeyError(
                f"the batch has no column {name!r} (its columns: {known}); name the dataset's column with "
                f"math_reward(gold_column=..., problem_column=...), or problem_column=None to grade without the problem"
            )
        values = list(columns[name])
        if len(values) != count:
            raise ValueError(f"column {name!r} has {len(values)} values for {count} completions")
        return values


def _completion_text(completion: Any) -> Any:
    """A completion as text: itself, or the content of its last message (conversational datasets)."""
    if isinstance(completion, (list, tuple)):
        return completion[-1]["content"] if completion else ""
    return completion


def math_reward(
    variant: TaskVariant = "r1_zero",
    *,
    filter_name: str | None = None,
    gold_column: str = "solution",
    problem_column: str | None = "problem",
    thinking_opened: bool | None = None,
    stop_cut: bool = False,
    max_completion_length: int | None = None,
) -> MathReward:
    """A TRL reward function giving the tasks' verdicts: ``GRPOTrainer(reward_funcs=[math_reward()])``.

    The arguments are :class:`MathReward`'s and :class:`RewardConfig`'s. TRL logs the rewards under
    the function's name, variant and filter (``rewards/r1_zero_cs336/mean``); a text prompt (TRL's
    standard format) is read as the task reads its own, so an r1_zero prompt ending in ``<think>``
    opens the thinking.
    """
    config = RewardConfig(variant, filter_name, thinking_opened, stop_cut)
    return MathReward(config, gold_column, problem_column, max_completion_length)


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str | float | int,
    extra_info: Mapping[str, Any] | None = None,
    *,
    variant: TaskVariant = "r1_zero",
    filter_name: str | None = None,
    thinking_opened: bool | None = None,
    stop_cut: bool = False,
) -> dict[str, Any]:
    """verl's custom reward function (``custom_reward_function.path`` = this file,
    ``custom_reward_function.name=compute_score``): the task's verdict on one response.

    Returns ``{"score": 0.0 or 1.0, "format_ok", "reason", "pred"}``; verl rewards ``score`` and logs
    the other fields. The problem text comes from ``extra_info["problem"]`` (or ``"question"``, as
    verl's GSM8K preprocessing names it); ``data_source`` is not read. The keyword arguments are
    :class:`RewardConfig`'s: bind them with ``functools.partial`` in a file of your own to change them.
    """
    if ground_truth is None:
        raise TypeError("ground_truth must be a string or a number, not None")
    info = extra_info or {}
    problem = info.get("problem", info.get("question"))
    config = RewardConfig(variant, filter_name, thinking_opened, stop_cut)
    (record,) = _graded_records([solution_str], [ground_truth], [problem], config, processes=1)
    return {"score": float(record.verdict), "format_ok": record.format_ok, "reason": record.reason, "pred": record.answer or ""}


__all__ = [
    "MathReward",
    "RewardConfig",
    "compute_score",
    "deepthink_reward",
    "grade_batch",
    "math_reward",
    "question_only_reward",
    "r1_zero_reward",
]
