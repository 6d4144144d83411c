"""``--model journal``: run another backend, keep every generation in a file as it arrives, resume from it.

A long sampled run must not lose its work to a crash, and lm-eval's own request cache cannot help:
it is never read for requests with ``do_sample: true``. The journal is a JSONL file, one line per
generation, written and flushed the moment the backend hands the generation over (a kill loses only
the requests in flight). A run started again with the same journal takes from it every generation
it holds for the same prompt and generation settings, and sends only the rest to the backend.

Journal lines are ``{"task", "problem", "prompt", "gen_kwargs", "response"}``, which the replay model
also reads, so a finished journal of one task can be re-graded with ``--model replay``.

lm-eval's API backends send every request with one fixed ``seed``; a server that honours per-request
seeds (vLLM does) then answers the ``repeats`` of a prompt with identical copies. Wrapped around an
API backend, this model sends the k-th repeat of every prompt with ``seed + k`` instead.
"""

from __future__ import annotations

import dataclasses
import gc
import inspect
import json
import logging
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.model import LM
from lm_eval.api.registry import get_model, register_model
from lm_eval.models.api_models import TemplateAPI

from lm_eval_math500.harness.replay import Replayed, ReplayLM, read_generations

log = logging.getLogger("lm_eval.journal")  # under lm-eval's logger: its handler and verbosity apply


class UnansweredRequestsError(RuntimeError):
    """The backend gave up on some requests; the answered ones are kept in the journal."""


def _prompt_text(context: Any) -> str:
    """The prompt as text: a chat request's JSON messages, else the prompt string."""
    return getattr(context, "prompt", context) if not isinstance(context, str) else context


def request_key(context: Any, gen_kwargs: dict[str, Any]) -> str:
    """What identifies a request across runs: its prompt and its generation settings."""
    return json.dumps([_prompt_text(context), gen_kwargs], sort_keys=True, ensure_ascii=False, default=str)


def _row_key(row: dict[str, Any]) -> str:
    return request_key(row["prompt"], row["gen_kwargs"])


class Journal:
    """An append-only JSONL file of generations; ``take`` hands out what an earlier run saved."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._drop_torn_line()
        self.saved: dict[str, deque[str]] = {}
        if self.path.is_file():
            self.saved = {key: deque(texts) for key, texts in read_generations(self.path, key_of=_row_key).items()}
        self.count = sum(len(texts) for texts in self.saved.values())
        self._handle = self.path.open("a", encoding="utf-8")

    def _drop_torn_line(self) -> None:
        """Cut a last line left half-written by a killed run, so the file stays valid JSONL."""
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.path.open("r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)

    def take(self, key: str) -> str | None:
        """A saved generation for this request, each one handed out once; ``None`` if none is left."""
        texts = self.saved.get(key)
        return texts.popleft() if texts else None

    def append(self, request: Instance, text: str) -> None:
        """Write one generation and flush it to the operating system at once."""
        context, gen_kwargs = request.args[:2]
        row = {
            "task": request.task_name,
            "problem": request.doc.get("problem") or request.doc.get("question"),
            "prompt": _prompt_text(context),
            "gen_kwargs": gen_kwargs,
            "response": text,
        }
        self._handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        self._handle.flush()
        self.count += 1


class _JournalHook:
    """Stands in for lm-eval's cache hook, which every backend calls once per generation as it arrives."""

    def __init__(self, journal: Journal, requests: list[Instance], outer: Any) -> None:
        self.journal, self.requests, self.outer = journal, requests, outer
        self.pending: dict[str, deque[int]] = defaultdict(deque)
        self.by_prompt: dict[str, list[str]] = defaultdict(list)
        for index, request in enumerate(requests):
            key = request_key(*request.args[:2])
            if key not in self.pending:
                self.by_prompt[_prompt_text(request.args[0])].append(key)
            self.pending[key].append(index)
        self.written: set[int] = set()

    def add_partial(self, attr: str, req: Any, res: Any) -> None:
        self.outer.add_partial(attr, req, res)
        if attr != "generate_until" or not isinstance(res, str):
            return
        index = self._claim(req[0], req[1])
        if index is not None:
            self.journal.append(self.requests[index], res)
            self.written.add(index)

    def _claim(self, context: Any, gen_kwargs: Any) -> int | None:
        """The pending request this generation answers: same prompt and settings, else same prompt.

        Some backends (in-process vLLM) report normalised settings, so the prompt alone decides then.
        """
        key = request_key(context, gen_kwargs) if isinstance(gen_kwargs, dict) else None
        if not self.pending.get(key):
            key = next((k for k in self.by_prompt.get(_prompt_text(context), ()) if self.pending[k]), None)
        return self.pending[key].popleft() if key is not None else None


def _seed_argument(model_class: type, arguments: dict[str, Any]) -> int:
    """The ``seed`` a backend was built with: its argument, else the default its constructor declares
    (lm-eval's API backends send it with every request); 0 for a backend that takes none."""
    if "seed" in arguments:
        return int(arguments["seed"])
    for cls in model_class.__mro__:
        declared = inspect.signature(cls.__init__).parameters.get("seed")
        if declared is not None and declared.default is not inspect.Parameter.empty:
            return int(declared.default)
    return 0


def _collect_abandoned_tasks() -> None:
    """Free the backend's failed request tasks now, quietly: their errors were logged as they happened.

    Otherwise asyncio prints each one's traceback at exit, after the one line that says what failed.
    """
    quiet = logging.getLogger("asyncio")
    disabled, quiet.disabled = quiet.disabled, True
    try:
        gc.collect()
    finally:
        quiet.disabled = disabled


@register_model("journal")
class JournaledLM(LM):
    """Runs ``backend`` (any lm-eval model name) with the other arguments, journaling to ``journal``."""

    def __init__(self, backend: str, journal: str, **backend_args: Any) -> None:
        super().__init__()
        self.backend = backend
        model_class = get_model(backend)
        self.inner: LM = model_class.create_from_arg_obj(backend_args)
        self.journal = Journal(journal)
        self.seed = _seed_argument(model_class, backend_args)

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        requests = self._seed_repeats(requests)
        outputs = [self._saved(self.journal.take(request_key(*request.args[:2]))) for request in requests]
        todo = [index for index, text in enumerate(outputs) if text is None]
        log.info(
            "Journal %s: %d of %d generations already there, %d to request",
            self.journal.path, len(requests) - len(todo), len(requests), len(todo),
        )  # fmt: skip
        if not todo:
            return outputs
        sent = [requests[index] for index in todo]
        hook = _JournalHook(self.journal, sent, self.cache_hook)
        self.inner.set_cache_hook(hook)
        try:
            fresh = self.inner.generate_until(sent)
        except Exception as error:  # noqa: BLE001  (whatever the backend raised, the answered ones are kept)
            reason = " ".join(f"{type(error).__name__}: {error}".split())[:300]
        else:
            reason = None
        if reason is not None:
            _collect_abandoned_tasks()
            raise UnansweredRequestsError(
                f"{self.backend} left {len(sent) - len(hook.written)} of {len(requests)} requests unanswered "
                f"({reason}); {self.journal.count} generations are kept in {self.journal.path}: "
                "run the same command again to send only the rest"
            )
        for position, (index, text) in enumerate(zip(todo, fresh, strict=True)):
            if position not in hook.written:  # a backend that does not report through the hook
                self.journal.append(sent[position], text)
            outputs[index] = text
        return outputs

    def _saved(self, text: str | None) -> str | None:
        """A generation the journal kept, marked as the backend marks its own (a replayed one's budget is unknown)."""
        return Replayed(text) if text is not None and isinstance(self.inner, ReplayLM) else text

    def _seed_repeats(self, requests: list[Instance]) -> list[Instance]:
        """Give the k-th copy of a request ``seed + k``, so that a server samples each repeat afresh."""
        if not isinstance(self.inner, TemplateAPI):
            return requests
        seen: dict[str, int] = defaultdict(int)
        seeded = []
        for request in requests:
            context, gen_kwargs, *rest = request.args
            key = request_key(context, gen_kwargs)
            # A seed in the generation settings wins; else the backend's seed argument.
            seed = int(gen_kwargs.get("seed", self.seed)) + seen[key]
            seen[key] += 1
            seeded.append(dataclasses.replace(request, arguments=(context, {**gen_kwargs, "seed": seed}, *rest)))
        return seeded

    def loglikelihood(self, requests: list[Instance], disable_tqdm: bool = False) -> list:
        return self.inner.loglikelihood(requests)

    def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False) -> list:
        return self.inner.loglikelihood_rolling(requests)

    def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> Any:
        return self.inner.apply_chat_template(chat_history, add_generation_prompt)

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        return self.inner.chat_template(chat_template)

    @property
    def tokenizer_name(self) -> str:
        return self.inner.tokenizer_name

    @property
    def rank(self) -> int:
        return self.inner.rank

    @property
    def world_size(self) -> int:
        return self.inner.world_size

    @property
    def device(self) -> Any:
        return self.inner.device

    def __getattr__(self, name: str) -> Any:
        # Anything else lm-eval asks of a model (get_model_info, batch_sizes, ...) is the backend's.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)
