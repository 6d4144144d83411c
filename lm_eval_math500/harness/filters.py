"""The extraction filter the tasks use: its output, the extracted answer, is what the samples file shows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lm_eval.api.filter import Filter
from lm_eval.api.registry import register_filter

from lm_eval_math500.grader.extraction import analyse
from lm_eval_math500.grader.formats import FORMATS, FormatMode, VariantChoice


class Extraction(str):
    """An extracted answer (``""`` when none was found) that also carries the format verdict."""

    format_ok: bool

    def __new__(cls, answer: str | None = None, format_ok: bool = False) -> "Extraction":
        extraction = super().__new__(cls, answer or "")
        extraction.format_ok = format_ok
        return extraction

    @property
    def answer(self) -> str | None:
        return str(self) or None


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
        self.cut_tags = tags if tags and tags[1] in fmt.stop else None

    def apply(self, resps: Iterable[list[str]], docs: list[dict]) -> list[list[Extraction]]:
        resps = [[r if isinstance(r, str) else "" for r in group] for group in resps]
        restore = self._stop_was_stripped(resps)
        return [[self._extract(self._restore_stop(r) if restore else r) for r in group] for group in resps]

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

    def _extract(self, response: str) -> Extraction:
        answer, format_ok = analyse(response, self.variant, self.format_mode)
        return Extraction(answer if format_ok or not self.strict else None, format_ok)
