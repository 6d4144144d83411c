"""The extraction filter the tasks use: its output, the extracted answer, is what the samples file shows."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lm_eval.api.filter import Filter
from lm_eval.api.instance import Instance
from lm_eval.api.registry import register_filter

from lm_eval_math500.grader.extraction import analyse
from lm_eval_math500.grader.formats import FORMATS, FormatMode, VariantChoice
from lm_eval_math500.grader.thinking import is_unfinished, opens_thinking, split_thinking
from lm_eval_math500.grader.worker import POOL
from lm_eval_math500.harness import budget
from lm_eval_math500.harness.datasets import THINK_END_FIELD, TOKENIZER_FIELD


class Extraction(str):
    """An extracted answer (``""`` when none was found) that also carries the format verdict, and
    whether the response was unfinished (see :func:`is_unfinished`) or reached its token budget."""

    format_ok: bool
    unfinished: bool
    budget_reached: bool

    def __new__(
        cls, answer: str | None = None, format_ok: bool = False, unfinished: bool = False, budget_reached: bool = False
    ) -> "Extraction":
        extraction = super().__new__(cls, answer or "")
        extraction.format_ok = format_ok
        extraction.unfinished = unfinished
        extraction.budget_reached = budget_reached
        return extraction

    @property
    def answer(self) -> str | None:
        return str(self) or None


@dataclass(frozen=True)
class Request:
    """What the filter reads of the request a response answers: its prompt and token budget."""

    prompt: str = ""
    max_gen_toks: int | None = None

    @classmethod
    def of(cls, arguments: Any) -> "Request":
        """From a request's arguments ``(prompt, generation kwargs)``, as lm-eval holds and logs them."""
        prompt, kwargs = (list(arguments) + [None, None])[:2]
        limit = kwargs.get("max_gen_toks") if isinstance(kwargs, Mapping) else None
        return cls(prompt if isinstance(prompt, str) else "", int(limit) if limit else None)


def _requests_being_filtered(count: int) -> list[Request] | None:
    """The requests of the responses being filtered, or None when not run by lm-eval.

    lm-eval hands a filter only responses and docs; the requests are the ``instances`` of the
    ``FilterEnsemble.apply`` call that runs the filter, two frames up.
    """
    instances = sys._getframe(2).f_locals.get("instances")
    if not isinstance(instances, list) or len(instances) != count:
        return None
    if not all(isinstance(instance, Instance) for instance in instances):
        return None
    return [Request.of(instance.args) for instance in instances]


@register_filter("math500_extract")
class ExtractAnswer(Filter):
    """Turn each response into an :class:`Extraction`.

    ``strict`` makes a response that fails the format check have no answer (deepthink's strict
    scoring). ``format_mode`` is passed to :func:`analyse` (``tags`` or ``cs336``).
    """

    def __init__(
        self, variant: VariantChoice, format_mode: FormatMode = "tags", strict: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.variant, self.format_mode, self.strict = variant, format_mode, strict
        # The answer tags whose closing tag is a stop string, which the harness may cut from the output.
        fmt = FORMATS.get(variant)  # none for "auto"
        tags = fmt.answer_tags if fmt else None
        self.tagged = tags is not None
        self.cut_tags = tags if tags and tags[1] in fmt.stop else None

    def apply(self, resps: Iterable[list[str]], docs: list[dict]) -> list[list[Extraction]]:
        resps = list(resps)
        # Grading follows: start the symbolic workers first, so no verdict's time limit includes it.
        POOL.warm_up()
        return self.extract(resps, docs, _requests_being_filtered(len(resps)))

    def extract(
        self, resps: Iterable[list[str]], docs: list[dict], requests: list[Request] | None = None
    ) -> list[list[Extraction]]:
        """:meth:`apply` with the requests given (their prompts and budgets), for logged runs."""
        resps = [[r if isinstance(r, str) else "" for r in group] for group in resps]
        requests = requests or [Request()] * len(resps)
        restore = self._stop_was_stripped(resps)
        return [
            [self._extract(self._restore_stop(r) if restore else r, doc, request) for r in group]
            for group, doc, request in zip(resps, docs, requests, strict=True)
        ]

    def _stop_was_stripped(self, resps: list[list[str]]) -> bool:
        """The harness removes stop strings; a run none of whose outputs keeps one had it removed."""
        if self.cut_tags is None:
            return False
        closing = self.cut_tags[1]
        return not any(closing in r for group in resps for r in group)

    def _restore_stop(self, response: str) -> str:
        """Put back the stop string after a final tag left open, where the backend cut it."""
        opening, closing = self.cut_tags
        return response + closing if response.rfind(opening) > response.rfind(closing) else response

    def _extract(self, response: str, doc: Mapping[str, Any], request: Request) -> Extraction:
        """Grade only what follows the thinking; an unfinished response has no answer. The doc's
        problem text lets a prose answer be read in context."""
        opened = opens_thinking(request.prompt)
        dropped = bool(doc.get(THINK_END_FIELD))  # the backend cut the trace away itself
        thinking = split_thinking(response, opened=opened and not dropped)
        reached = budget.reached(response, request.max_gen_toks, doc.get(TOKENIZER_FIELD))
        answer, format_ok = None, False
        if thinking.finished:
            # The tagged variants check the thinking's end marker themselves, so they see the whole response.
            graded = response if self.tagged else thinking.answer_part
            answer, format_ok = analyse(graded, self.variant, self.format_mode, doc.get("problem"))
        stated = format_ok or (self.variant == "r1_zero" and answer is not None)
        if is_unfinished(thinking, budget_reached=reached, answer_stated=stated, trace_dropped=opened and dropped):
            return Extraction(None, False, unfinished=True, budget_reached=reached)
        return Extraction(answer if format_ok or not self.strict else None, format_ok, budget_reached=reached)
