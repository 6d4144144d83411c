"""Whether a generation used up its token budget, counted with the model's own tokenizer.

lm-eval's backends return text only, without the reason a generation ended, so the response is
re-tokenized and compared with the request's ``max_gen_toks``. Re-tokenizing decoded text can
merge a few tokens the model sampled apart, so a count within 1% of the budget counts as reaching it.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def load_tokenizer(name: str) -> Any:
    """The tokenizer ``name`` (a folder or a hub id), or None (warned once) when it cannot be loaded."""
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(name)
    except Exception as err:  # a missing or unreadable tokenizer must not stop the grading
        log.warning("cannot load tokenizer %r to count response tokens (%s)", name, err)
        return None


@functools.lru_cache(maxsize=1)
def _warn_no_tokenizer() -> None:
    log.warning(
        "long responses cannot be checked against the token budget without the model's tokenizer; "
        "pass --model_args pretrained=MODEL (hf, vllm) or --metadata '{\"tokenizer\": \"MODEL\"}' (replay)"
    )


def reached(text: str, budget: int | None, tokenizer: str | None) -> bool:
    """Whether ``text`` is as long as ``budget`` tokens of ``tokenizer`` (less 1%)."""
    if not budget:
        return False
    needed = budget - budget // 100
    if len(text.encode("utf-8")) < needed:  # a token is at least one byte
        return False
    if not tokenizer:
        _warn_no_tokenizer()
        return False
    counter = load_tokenizer(tokenizer)
    return counter is not None and len(counter.encode(text, add_special_tokens=False)) >= needed
