"""The extraction filter the tasks use: its output, the extracted answer, is what the samples file shows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lm_eval.api.filter import Filter
from lm_eval.api.registry import register_filter

from lm_eval_math500.grader.extraction import analyse

# The stop string of each tag style, which the harness cuts from the output.
_STOP = {"r1_zero": ("<answer>", "</answer>"), "deepthink": ("<SOLUTION>", "</SOLUTION>")}


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

    def __init__(self, style: str, format_mode: str = "tags", strict: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.style, self.format_mode, self.strict = style, format_mode, strict

    def apply(self, resps: Iterable[list[str]], docs: list[dict]) -> list[list[Extraction]]:
        resps = [[r if isinstance(r, str) else "" for r in group] for group in resps]
        restore = self._stop_was_stripped(resps)
        return [
            [self._extract(self._restore_stop(r) if restore else r, doc.get("problem")) for r in group]
            for group, doc in zip(resps, docs, strict=True)
        ]

    def _stop_was_stripped(self, resps: list[list[str]]) -> bool:
        """The harness removes stop strings; a run none of whose outputs keeps one had it removed."""
        if self.style not in _STOP:
            return False
        closing = _STOP[self.style][1]
        return not any(closing in r for group in resps for r in group)

    def _restore_stop(self, response: str) -> str:
        """Put back the stop string after a final tag left open, where the backend cut it."""
        opening, closing = _STOP[self.style]
        return response + closing if response.rfind(opening) > response.rfind(closing) else response

    def _extract(self, response: str, problem: str | None) -> Extraction:
        """The answer and format verdict; the problem text lets a prose answer be read in context."""
        answer, format_ok = analyse(response, self.style, self.format_mode, problem)
        return Extraction(answer if format_ok or not self.strict else None, format_ok)
