"""Response lengths in tokens of the model's own tokenizer, and whether a response used up its budget.

lm-eval's backends return text only, without the reason a generation ended or its token count, so
responses are re-tokenized (all of a task's at once, each distinct text once) and compared with the
request's ``max_gen_toks``. Re-tokenizing decoded text can merge a few tokens the model sampled
apart, so a count within 1% of the budget counts as reaching it.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
# Texts tokenized per call: enough to use the fast tokenizer's threads, few enough to bound the
# memory of the token ids, which are only counted.
BATCH = 256
# Seconds to wait for the hub's answer on whether a tokenizer that is not here exists there.
HUB_TIMEOUT = 3.0


class TokenizerUnavailable(RuntimeError):
    """A tokenizer that cannot be loaded; the message is one line that says why and what to pass instead."""


# Files of which a tokenizer's hub repository holds at least one.
_TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json", "tokenizer.model")


@functools.lru_cache(maxsize=4)
def open_tokenizer(name: str) -> Any:
    """The tokenizer ``name``: a folder, a hub id in the local cache, else one fetched from the hub.

    Where the hub id is not cached, the hub is asked once, without retries, whether it exists
    before transformers is even imported, so an unreachable hub or a wrong name is a
    :class:`TokenizerUnavailable` within seconds.
    """
    fix = f"pass a folder that holds a tokenizer, or fetch {name} where the hub can be reached (hf download {name})"
    if Path(name).expanduser().exists():
        return _load(name, f"{name} holds no tokenizer that loads ({{}}); pass a folder that holds one", local=True)
    if _cached(name):
        return _load(name, f"cannot load tokenizer {name} from the local Hugging Face cache ({{}}); {fix}", local=True)
    _check_hub(name, fix)
    return _load(name, f"cannot load tokenizer {name} ({{}}); {fix}", local=False)


def _cached(name: str) -> bool:
    """Whether the local Hugging Face cache holds tokenizer files of the hub id ``name``."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return any(isinstance(try_to_load_from_cache(name, file), str) for file in _TOKENIZER_FILES)
    except ValueError:  # not a hub id: _check_hub says so
        return False


def _check_hub(name: str, fix: str) -> None:
    """Raise :class:`TokenizerUnavailable` unless the hub answers that the model ``name`` exists."""
    from huggingface_hub import HfApi, is_offline_mode
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, HFValidationError, RepositoryNotFoundError

    if is_offline_mode():
        raise TokenizerUnavailable(
            f"tokenizer {name} is not in the local Hugging Face cache and the hub is off (HF_HUB_OFFLINE); {fix}"
        )
    try:
        HfApi().model_info(name, timeout=HUB_TIMEOUT)
    except GatedRepoError:
        pass  # it exists; loading it says what access it needs
    except RepositoryNotFoundError:
        raise TokenizerUnavailable(
            f"tokenizer {name} is no folder here and no model on the Hugging Face hub; pass a tokenizer folder or a hub id"
        ) from None
    except HFValidationError:
        raise TokenizerUnavailable(
            f"tokenizer {name} is no folder here and not a hub id; pass a tokenizer folder or a hub id such as "
            "Qwen/Qwen2.5-Math-1.5B"
        ) from None
    except HfHubHTTPError as error:
        raise TokenizerUnavailable(f"the Hugging Face hub refused tokenizer {name} ({_first_line(error)}); {fix}") from None
    except Exception as error:  # the hub cannot be reached (a connection error of its HTTP client)
        raise TokenizerUnavailable(
            f"tokenizer {name} is not in the local Hugging Face cache and the hub cannot be reached "
            f"({type(error).__name__}); {fix}"
        ) from None


def _load(name: str, failure: str, *, local: bool) -> Any:
    """``AutoTokenizer.from_pretrained(name)``; a failure is :class:`TokenizerUnavailable` with
    ``failure`` naming its cause at ``{}``."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name, local_files_only=local)
    except Exception as error:
        raise TokenizerUnavailable(failure.format(_first_line(error))) from None


def _first_line(error: BaseException) -> str:
    """The first line of an error's message, for a message of one line."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


@functools.lru_cache(maxsize=4)
def load_tokenizer(name: str) -> Any:
    """The tokenizer ``name`` as :func:`open_tokenizer` loads it, or None (warned once) when it cannot be loaded."""
    try:
        return open_tokenizer(name)
    except TokenizerUnavailable as error:  # a missing tokenizer must not stop the grading
        log.warning("cannot count response tokens: %s", error)
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


# Whether a response that may have reached its budget uncounted is worth advice on the run's arguments:
# in a run, yes; not when a finished run is re-graded, where no run argument can change it.
_ADVISE_RUN = contextvars.ContextVar("advise_run", default=True)


@contextlib.contextmanager
def after_the_run() -> Iterator[None]:
    """Re-grade a finished run: without the advice on run arguments that a missing tokenizer gets in a run."""
    token = _ADVISE_RUN.set(False)
    try:
        yield
    finally:
        _ADVISE_RUN.reset(token)


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
        if _ADVISE_RUN.get():
            _warn_no_tokenizer()
        return False
    return tokens >= needed
