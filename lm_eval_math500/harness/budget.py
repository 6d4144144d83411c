"""Response lengths in tokens of the model's own tokenizer, and whether a response used up its budget.

lm-eval's backends return text only, without the reason a generation ended or its token count, so
responses are re-tokenized (all of a task's at once, each distinct text once) and compared with the
request's ``max_gen_toks``. Re-tokenizing decoded text can merge a few tokens the model sampled
apart, so a count within 1% of the budget counts as reaching it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)
# Texts tokenized per call: enough to use the fast tokenizer's threads, few enough to bound the
# memory of the token ids, which are only counted.
BATCH = 256


@functools.lru_cache(maxsize=4)
def load_tokenizer(name: str) -> Any:
    """The tokenizer ``name`` (a folder or a hub id), or None (warned once) when it cannot be loaded."""
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(name)
    except Exception as err:  # a missing or unreadable tokenizer must not stop the grading
        log.warning("cannot load tokenizer %r to count response tokens (%s)", name, err)
        return None


class TokenCounts:
    """Token counts with one tokenizer, remembered per text, so a task's filters count each text once."""

    def __init__(self, tokenizer: str | None) -> None:
        self.tokenizer = load_tokenizer(tokenizer) if tokenizer else None
        self.known: dict[str, int] = {}

    def count(self, texts: Sequence[str]) -> list[int] | None:
        """The token count of each text (no special tokens added); None without a tokenizer."""
        if self.tokenizer is None:
            return None
        todo = [text for text in dict.fromkeys(texts) if text not in self.known]
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            self.known.update(zip(batch, self._lengths(batch), strict=True))
        return [self.known[text] for text in texts]

    def _lengths(self, batch: list[str]) -> list[int]:
        """Token counts of a batch: a fast tokenizer's Rust encoder without offsets, else the tokenizer itself."""
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is not None:
            return [len(encoding) for encoding in backend.encode_batch_fast(batch, add_special_tokens=False)]
        ids = self.tokenizer(batch, add_special_tokens=False, return_attention_mask=False, verbose=False)
        return [len(row) for row in ids["input_ids"]]


@functools.lru_cache(maxsize=1)
def _warn_no_tokenizer() -> None:
    log.warning(
        "long responses cannot be checked against the token budget without the model's tokenizer; "
        "pass --model_args pretrained=MODEL (hf, vllm) or --metadata '{\"tokenizer\": \"MODEL\"}'"
    )


def reached(text: str, budget: int | None, tokens: int | None) -> bool:
    """Whether ``text``, ``tokens`` long, used up ``budget`` tokens (less 1%); False when the budget
    is unknown, or the count is and the text is long enough to have reached it (warned once)."""
    if not budget:
        return False
    needed = budget - budget // 100
    if len(text.encode("utf-8")) < needed:  # a token is at least one byte
        return False
    if tokens is None:
        _warn_no_tokenizer()
        return False
    return tokens >= needed
