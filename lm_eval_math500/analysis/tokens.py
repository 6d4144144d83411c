"""Count response tokens: with the run's tokenizer when it can be loaded here, else an estimate.

The estimate counts whitespace-separated words plus every byte that is neither a letter nor
whitespace (digits and symbols, which math models' tokenizers mostly split one by one), scaled by
0.9: on the CS336 Qwen2.5-Math responses cut at 1024 tokens it gives 920 to 1150. Reports that use
it say so.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lm_eval_math500.harness.budget import TokenCounts

_NOT_SYMBOLS = (string.ascii_letters + string.whitespace).encode()
_SCALE = 0.9


@dataclass(frozen=True)
class TokenCounter:
    """Counts tokens of texts.

    Attributes:
        counts: the run's own way of counting with a tokenizer (:class:`TokenCounts`), or None to estimate.
        source: what counts: the tokenizer's name, or ``"estimate"``.
    """

    counts: TokenCounts | None
    source: str

    @property
    def estimated(self) -> bool:
        return self.counts is None

    def count(self, texts: Sequence[str]) -> list[int]:
        """The token count of each text (no special tokens added)."""
        if not texts:
            return []
        if self.counts is None:
            return [round(_SCALE * (len(t.split()) + len(t.encode().translate(None, _NOT_SYMBOLS)))) for t in texts]
        return self.counts.count(texts)


def model_tokenizer_name(run_config: Mapping[str, Any]) -> str | None:
    """The tokenizer a run's model used: ``tokenizer=`` or ``pretrained=`` of its model_args."""
    args = run_config.get("model_args")
    if isinstance(args, str):
        args = dict(part.split("=", 1) for part in args.split(",") if "=" in part)
    if not isinstance(args, Mapping):
        return None
    name = args.get("tokenizer") or args.get("pretrained")
    return str(name) if name else None


def token_counter(name: str | None) -> TokenCounter:
    """A counter with the tokenizer ``name``, counting as a run counts its responses, else the estimate."""
    counts = TokenCounts(name) if name else None
    if counts is None or counts.tokenizer is None:
        return TokenCounter(None, "estimate")
    return TokenCounter(counts, name)
