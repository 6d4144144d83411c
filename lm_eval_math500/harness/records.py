"""One record per response: what the extraction read from it, completed by the grader's verdict.

The task's filter turns each response into a :class:`Record`; ``process_results`` grades it and fills
in the verdict. lm-eval writes every filtered response to the samples file as ``str(x)``, and the
``str`` of a record is a compact JSON object, so the samples file holds the whole record and
analysis reads it back with :func:`read_record` instead of extracting and grading again.
Nothing here imports lm-eval: analysis re-extracts through :func:`extract_records` when asked to
re-grade a run.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec
import yaml

from lm_eval_math500.grader.equivalence import Verdict
from lm_eval_math500.grader.extraction import analyse
from lm_eval_math500.grader.formats import FORMATS, TASK_VARIANTS, FormatMode, VariantChoice
from lm_eval_math500.grader.thinking import is_unfinished, opens_thinking, split_thinking
from lm_eval_math500.harness import budget

# The verdict metrics a filter can name: the answer alone, or the answer in the filter's format.
VERDICT_METRICS = ("accuracy", "answer_reward")
# The settings every task shares, metadata.version among them.
BASE_YAML = Path(__file__).resolve().parents[1] / "tasks" / "_base.yaml"


class _TaskYaml(yaml.SafeLoader):
    """Reads task YAML, keeping ``!function`` references as plain strings."""


_TaskYaml.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))


@functools.lru_cache(maxsize=1)
def current_version() -> str:
    """The task version this package grades as (``metadata.version`` of the tasks' ``_base.yaml``),
    as records write it."""
    return str(yaml.load(BASE_YAML.read_text(encoding="utf-8"), Loader=_TaskYaml)["metadata"]["version"])


@functools.lru_cache(maxsize=None)
def _variant_config(task_suffix: str) -> dict[str, Any]:
    """A prompt variant's task YAML (``tasks/_<task_suffix>.yaml``), read once."""
    if task_suffix not in TASK_VARIANTS:
        raise ValueError(f"no prompt variant {task_suffix!r}; the tasks define {', '.join(TASK_VARIANTS)}")
    return yaml.load(BASE_YAML.with_name(f"_{task_suffix}.yaml").read_text(encoding="utf-8"), Loader=_TaskYaml)


def task_filters(task_suffix: str) -> Mapping[str, "Extractor"]:
    """The extraction filters a prompt variant's tasks run, by filter name, as its YAML configures
    them, so that code outside a run reads responses as the tasks do."""
    filters = {}
    for entry in _variant_config(task_suffix)["filter_list"]:
        (step,) = entry["filter"]
        filters[entry["name"]] = Extractor(**{key: value for key, value in step.items() if key != "function"})
    return MappingProxyType(filters)


def prompt_opens_thinking(task_suffix: str) -> bool:
    """Whether a prompt variant's prompt (its YAML's ``doc_to_text``) ends by opening the thinking, as
    r1_zero's ``Assistant: <think>`` does, so that its responses start inside the trace."""
    return opens_thinking(_variant_config(task_suffix)["doc_to_text"])


@dataclass
class Record:
    """What the run decided about one response; its ``str`` is the JSON the samples file keeps.

    Attributes:
        answer: the extracted answer, None when there was none.
        format_ok: whether the response passed the filter's format check.
        unfinished: whether the thinking never ended or the budget cut the response off before it
            stated an answer (such a response has no answer).
        budget_reached: whether the response used up ``max_gen_toks`` (within 1%, counted in
            ``tokens``); False when either is unknown.
        tokens: the response's length in tokens of the run's tokenizer, None when the run has none.
        max_gen_toks: the token budget the response was generated under, None when unknown (a
            replayed generation).
        version: the task's ``metadata.version``.
        correct: whether the answer equals the gold (``accuracy``); None until graded.
        verdict: the task's verdict under this filter: ``correct`` and, where the filter's verdict
            metric is ``answer_reward``, ``format_ok`` too; None until graded.
        reason: the grader's rule that decided ``correct``; None until graded.
        timed_out: whether the grader's time limit stopped the verdict; None until graded.
        counts_format: whether the format counts towards ``verdict`` (the filter's verdict metric
            is ``answer_reward``); the samples file does not repeat it per response.
    """

    answer: str | None = None
    format_ok: bool = False
    unfinished: bool = False
    budget_reached: bool = False
    tokens: int | None = None
    max_gen_toks: int | None = None
    version: str | None = None
    correct: bool | None = None
    verdict: bool | None = None
    reason: str | None = None
    timed_out: bool | None = None
    counts_format: bool = field(default=False, repr=False)

    def complete(self, verdict: Verdict) -> None:
        """Fill in the grader's verdict on :attr:`answer`."""
        self.correct, self.reason, self.timed_out = verdict.correct, verdict.reason, verdict.timed_out
        self.verdict = verdict.correct and (self.format_ok or not self.counts_format)

    def to_dict(self) -> dict[str, Any]:
        """The fields the samples file keeps, in order."""
        kept = asdict(self)
        kept.pop("counts_format")
        return kept

    def __str__(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


_LOGGED = tuple(f.name for f in fields(Record) if f.name != "counts_format")


def read_record(text: Any) -> Record | None:
    """The record a samples file holds as ``text``; None when ``text`` is not one (a plain extracted
    answer, as samples files written before records were)."""
    if not isinstance(text, str) or not text.startswith("{"):
        return None
    try:
        data = msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError):
        return None
    if not isinstance(data, dict) or not set(_LOGGED) <= set(data):
        return None
    return Record(**{name: data[name] for name in _LOGGED})


@dataclass(frozen=True)
class Request:
    """What the filter reads of the request a response answers: its prompt and token budget.

    Attributes:
        prompt: the prompt the model continued (a prompt that opens thinking counts).
        max_gen_toks: the token budget, None when unknown.
    """

    prompt: str = ""
    max_gen_toks: int | None = None

    @classmethod
    def of(cls, arguments: Any) -> "Request":
        """From a request's arguments ``(prompt, generation kwargs)``, as lm-eval holds and logs them."""
        prompt, kwargs = (list(arguments) + [None, None])[:2]
        limit = kwargs.get("max_gen_toks") if isinstance(kwargs, Mapping) else None
        return cls(prompt if isinstance(prompt, str) else "", int(limit) if limit else None)


@dataclass(frozen=True)
class RunSettings:
    """What the run's model arguments say about its outputs.

    Attributes:
        think_end_token: lm-eval's ``think_end_token`` model argument: the backend then removes
            the thinking trace itself; None when not given.
        tokenizer: the tokenizer that counts response tokens (a folder or hub id), None when unknown.
        version: the task's ``metadata.version``, written into every record.
    """

    think_end_token: str | None = None
    tokenizer: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class Extractor:
    """How one filter reads responses: the variant, the format check and the verdict metric.

    Attributes:
        variant: the prompt variant whose format the responses follow.
        format_mode: ``tags`` or ``cs336`` (r1_zero only), see :func:`analyse`.
        strict: a response that fails the format check has no answer (deepthink's strict scoring).
        verdict_metric: ``answer_reward`` when the answer counts only in the format, else ``accuracy``.
    """

    variant: VariantChoice
    format_mode: FormatMode = "tags"
    strict: bool = False
    verdict_metric: str = "accuracy"

    def __post_init__(self) -> None:
        if self.verdict_metric not in VERDICT_METRICS:
            raise ValueError(f"verdict_metric must be one of {VERDICT_METRICS}, not {self.verdict_metric!r}")

    @property
    def _tags(self) -> tuple[str, str] | None:
        """The variant's answer tags; None when its answer is read from prose (or for "auto")."""
        fmt = FORMATS.get(self.variant)
        return fmt.answer_tags if fmt else None

    @property
    def _cut_tags(self) -> tuple[str, str] | None:
        """The answer tags whose closing tag is a stop string, which the backend may cut from the output."""
        tags = self._tags
        return tags if tags and tags[1] in FORMATS[self.variant].stop else None

    def records(
        self,
        resps: Sequence[Sequence[str]],
        docs: Sequence[Mapping[str, Any]],
        requests: Sequence[Request],
        settings: RunSettings,
        count: Callable[[list[str]], list[int] | None] | None = None,
    ) -> list[list[Record]]:
        """One record per response, grouped as ``resps`` is (the repeats of each request).

        ``count`` gives the token counts of a list of texts at once (None without a tokenizer);
        the default counts with ``settings.tokenizer``.
        """
        count = count or budget.TokenCounts(settings.tokenizer).count
        groups = [[r if isinstance(r, str) else "" for r in group] for group in resps]
        restore = self._stop_was_stripped(groups)
        texts = [[self._restore_stop(r) if restore else r for r in group] for group in groups]
        flat = [text for group in texts for text in group]
        counted = count(flat)
        tokens = iter(counted if counted is not None else [None] * len(flat))
        return [
            [self._record(text, doc, request, settings, next(tokens)) for text in group]
            for group, doc, request in zip(texts, docs, requests, strict=True)
        ]

    def record(
        self,
        response: str,
        doc: Mapping[str, Any],
        request: Request,
        settings: RunSettings,
        *,
        stop_cut: bool,
        tokens: int | None = None,
    ) -> Record:
        """The record of one response read on its own, outside a run: ``stop_cut`` says the backend
        cut the variant's stop string from it (which :meth:`records` decides from all of a run's
        responses), ``tokens`` is its length in tokens when known."""
        restore = stop_cut and self._cut_tags is not None
        return self._record(self._restore_stop(response) if restore else response, doc, request, settings, tokens)

    def _stop_was_stripped(self, resps: list[list[str]]) -> bool:
        """The harness removes stop strings; a run none of whose outputs keeps one had it removed."""
        if self._cut_tags is None:
            return False
        closing = self._cut_tags[1]
        return not any(closing in r for group in resps for r in group)

    def _restore_stop(self, response: str) -> str:
        """Put back the stop string after a final tag left open, where the backend cut it."""
        opening, closing = self._cut_tags
        return response + closing if response.rfind(opening) > response.rfind(closing) else response

    def _record(
        self, response: str, doc: Mapping[str, Any], request: Request, settings: RunSettings, tokens: int | None
    ) -> Record:
        """Read only what follows the thinking; an unfinished response has no answer. The doc's
        problem text lets a prose answer be read in context."""
        opened = opens_thinking(request.prompt)
        dropped = bool(settings.think_end_token)  # the backend cut the trace away itself
        thinking = split_thinking(response, opened=opened and not dropped)
        reached = budget.reached(response, request.max_gen_toks, tokens)
        answer, format_ok = None, False
        if thinking.finished:
            # The tagged variants check the thinking's end marker themselves, so they see the whole response.
            graded = response if self._tags else thinking.answer_part
            answer, format_ok = analyse(graded, self.variant, self.format_mode, doc.get("problem"))
        stated = format_ok or (self.variant == "r1_zero" and answer is not None)
        unfinished = is_unfinished(thinking, budget_reached=reached, answer_stated=stated, trace_dropped=opened and dropped)
        return Record(
            answer=None if unfinished or (self.strict and not format_ok) else answer or None,
            format_ok=format_ok and not unfinished,
            unfinished=unfinished,
            budget_reached=reached,
            tokens=tokens,
            max_gen_toks=request.max_gen_toks,
            version=settings.version,
            counts_format=self.verdict_metric == "answer_reward",
        )
