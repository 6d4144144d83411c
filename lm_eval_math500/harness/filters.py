"""The extraction filter the task YAML names: it turns each response into a :class:`Record`.

The tasks' own class (:mod:`lm_eval_math500.harness.task`) runs it with :meth:`ExtractAnswer.records`,
handing it the requests and the run's settings. Run by lm-eval's plain filter pipeline instead
(``apply``), it sees responses and docs only: no prompt, no budget, no tokenizer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from lm_eval.api.filter import Filter
from lm_eval.api.registry import register_filter

from lm_eval_math500.grader.formats import FormatMode, VariantChoice
from lm_eval_math500.grader.worker import POOL
from lm_eval_math500.harness.budget import TokenCounts
from lm_eval_math500.harness.records import Extractor, Record, Request, RunSettings


@register_filter("math500_extract")
class ExtractAnswer(Filter):
    """Turn each response into a :class:`Record` (see :class:`Extractor` for the arguments)."""

    def __init__(
        self,
        variant: VariantChoice,
        format_mode: FormatMode = "tags",
        strict: bool = False,
        verdict_metric: str = "accuracy",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.extractor = Extractor(variant, format_mode, strict, verdict_metric)

    def apply(self, resps: Iterable[list[str]], docs: list[dict]) -> list[list[Record]]:
        resps = list(resps)
        return self.records(resps, docs, [Request()] * len(resps), RunSettings())

    def extract(
        self, resps: Iterable[list[str]], docs: list[dict], requests: list[Request] | None = None
    ) -> list[list[Record]]:
        """Deprecated: the former name of :meth:`records`, with the requests alone (no run settings)."""
        resps = list(resps)
        return self.records(resps, docs, requests or [Request()] * len(resps), RunSettings())

    def records(
        self,
        resps: Sequence[Sequence[str]],
        docs: Sequence[dict],
        requests: Sequence[Request],
        settings: RunSettings,
        counts: TokenCounts | None = None,
    ) -> list[list[Record]]:
        """One record per response, read with the requests (prompts and budgets) and the run's settings."""
        # Grading follows: start the symbolic workers first, so no verdict's time limit includes it.
        POOL.warm_up()
        counts = counts or TokenCounts(settings.tokenizer)
        return self.extractor.records(resps, docs, requests, settings, counts.count)
