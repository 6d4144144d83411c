"""``--model journal``: run another backend, keep every generation in a file as it arrives, resume from it.

A long sampled run must not lose its work to a crash, and lm-eval's own request cache cannot help:
it is never read for requests with ``do_sample: true``. The journal is a JSONL file, one line per
generation, written and flushed the moment the backend hands the generation over (a kill loses only
the requests in flight). A run started again with the same journal takes from it every generation
it holds for the same prompt and generation settings, and sends only the rest to the backend.

The journal's first line records what produced its generations (:class:`JournalIdentity`): the
backend, the arguments that name the model (``pretrained``, ``model``, ``base_url``, ...), the chat
template and system instruction the prompts were made with, and this package's version. A run
whose identity differs in any of them stops with one line naming the field, before the backend
loads where it can (the chat template is known once the backend has its tokenizer);
``journal_reuse=True`` (``--journal-reuse``) takes the generations anyway. ``system_instruction``
and ``apply_chat_template`` are the run's own settings, which lm-eval does not hand a model:
``lm-eval-math500 run`` passes them on, and from Python they go in the model arguments too.

Other lines are ``{"task", "problem", "prompt", "gen_kwargs", "response"}``, which the replay model
also reads, so a finished journal can be re-graded with ``--model replay``.

lm-eval's API backends send every request with one fixed ``seed``; a server that honours per-request
seeds (vLLM does) then answers the ``repeats`` of a prompt with identical copies. Wrapped around an
API backend, this model sends the k-th repeat of every prompt with ``seed + k`` instead.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import importlib.metadata
import inspect
import json
import logging
import os
from collections import defaultdict, deque
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import msgspec
from lm_eval.api.instance import Instance
from lm_eval.api.model import LM
from lm_eval.api.registry import get_model, register_model
from lm_eval.models.api_models import TemplateAPI

from lm_eval_math500.harness.input_files import (
    JOURNAL_FILE,
    InputFileError,
    JournalHead,
    JournalIdentity,
    read_journal,
)
from lm_eval_math500.harness.replay import Replayed, ReplayLM

log = logging.getLogger("lm_eval.journal")  # under lm-eval's logger: its handler and verbosity apply

# The backend arguments that say which model answers: a journal of one is not another's.
IDENTITY_ARGUMENTS = ("pretrained", "revision", "peft", "delta", "lora_local_path", "model", "base_url")
# The journal's end is searched for its last newline in pieces of this many bytes.
_CHUNK = 1 << 16
# How the messages name each identity field.
_FIELD_NAMES = {
    "backend": "backend",
    "chat_template": "chat template",
    "system_instruction": "system instruction",
    "version": "lm-eval-math500 version",
}


class UnansweredRequestsError(RuntimeError):
    """The backend gave up on some requests; the answered ones are kept in the journal."""


class JournalIdentityError(ValueError):
    """The journal holds generations of another model or setting than the run's; the message says which."""


def _prompt_text(context: Any) -> str:
    """The prompt as text: a chat request's JSON messages, else the prompt string."""
    return getattr(context, "prompt", context) if not isinstance(context, str) else context


def request_key(context: Any, gen_kwargs: dict[str, Any]) -> str:
    """What identifies a request across runs: its prompt and its generation settings."""
    return json.dumps([_prompt_text(context), gen_kwargs], sort_keys=True, ensure_ascii=False, default=str)


def package_version() -> str:
    """This package's version, as journals record it."""
    try:
        return importlib.metadata.version("lm-eval-math500")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def identity_of(
    backend: str, backend_args: Mapping[str, Any], system_instruction: str | None = None, chat_template: str | None = None
) -> JournalIdentity:
    """The identity of a run of ``backend`` with ``backend_args``; ``chat_template`` as :func:`template_id` gives it."""
    named = {name: str(backend_args[name]) for name in IDENTITY_ARGUMENTS if backend_args.get(name) is not None}
    return JournalIdentity(
        backend=backend, model_args=named, chat_template=chat_template,
        system_instruction=system_instruction or None, version=package_version(),
    )  # fmt: skip


def template_id(model: LM, apply_chat_template: bool | str) -> str | None:
    """The chat template ``model`` renders prompts with under ``apply_chat_template``: ``sha256:``
    and the start of its text's digest; "the server's" for a backend whose server applies its own;
    None without a chat template."""
    if not apply_chat_template:
        return None
    text = model.chat_template(apply_chat_template)
    return f"sha256:{hashlib.sha256(text.encode()).hexdigest()[:16]}" if text else "the server's"


def _differences(recorded: JournalIdentity, run: JournalIdentity, fields: Collection[str]) -> list[tuple[str, Any, Any]]:
    """``(field, recorded, this run's)`` for every identity field in ``fields`` that differs."""
    found = []
    for name in fields:
        if name == "model_args":
            for argument in sorted(set(recorded.model_args) | set(run.model_args), key=IDENTITY_ARGUMENTS.index):
                if recorded.model_args.get(argument) != run.model_args.get(argument):
                    found.append((argument, recorded.model_args.get(argument), run.model_args.get(argument)))
        elif getattr(recorded, name) != getattr(run, name):
            found.append((_FIELD_NAMES[name], getattr(recorded, name), getattr(run, name)))
    return found


def _shown(value: Any) -> str:
    return "(none)" if value is None else repr(value)


class Journal:
    """An append-only JSONL file of generations, headed by what produced them; ``take`` hands out
    what an earlier run saved."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise InputFileError(f"{self.path} is a folder, not a journal; {JOURNAL_FILE.fix}")
        self.identity: JournalIdentity | None = None
        rows = []
        if self.path.exists():
            self.identity, rows = read_journal(self.path)
            self._drop_torn_line()
        self.empty = self.identity is None and not rows
        self.saved: dict[str, deque[str]] = defaultdict(deque)
        for row in rows:
            self.saved[request_key(row.prompt, row.gen_kwargs)].append(row.response)
        self.count = len(rows)
        self._handle: Any = None

    def _drop_torn_line(self) -> None:
        """Cut a last line left half-written by a killed run, so the file stays valid JSONL (once
        the rest has been read as a journal: no other file is cut)."""
        with self.path.open("r+b") as handle:
            end = handle.seek(0, os.SEEK_END)
            if not end:
                return
            handle.seek(end - 1)
            if handle.read(1) == b"\n":
                return
            while end > 0:
                start = max(0, end - _CHUNK)
                handle.seek(start)
                found = handle.read(end - start).rfind(b"\n")
                if found >= 0:
                    handle.truncate(start + found + 1)
                    return
                end = start
            handle.truncate(0)

    def check(self, identity: JournalIdentity, reuse: bool = False, fields: Collection[str] = JournalIdentity.__struct_fields__) -> None:
        """Raise :class:`JournalIdentityError` when the generations were made by another ``identity``
        (compared on ``fields``), or the journal records none; with ``reuse``, warn instead."""
        if self.empty:
            return
        if self.identity is None:
            problem = "records no identity (it was written before journals recorded what produced them)"
        else:
            differing = _differences(self.identity, identity, fields)
            if not differing:
                return
            name, recorded, run = differing[0]
            problem = f"holds generations of {name} {_shown(recorded)}, not this run's {_shown(run)}"
        if reuse:
            log.warning("Journal %s %s: taking its generations anyway (--journal-reuse)", self.path, problem)
            return
        raise JournalIdentityError(
            f"journal {self.path} {problem}; pass another --journal file (one per model and task), "
            "or add --journal-reuse to take its generations anyway"
        )

    def begin(self, identity: JournalIdentity) -> None:
        """Open the journal for appending; a new journal gets ``identity`` as its first line."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8")
        except OSError as error:
            raise InputFileError(f"cannot write journal {self.path} ({error.strerror}); {JOURNAL_FILE.fix}") from None
        if self.empty:
            head = msgspec.json.encode(JournalHead(journal=identity)).decode()
            self._handle.write(head + "\n")
            self._handle.flush()
            self.identity, self.empty = identity, False

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


def check_journal(arguments: Mapping[str, Any], system_instruction: str | None = None) -> None:
    """Check the ``--model journal`` arguments' journal against the run before anything loads: its
    lines, and every identity field but the chat template (which needs the backend's tokenizer).

    Raises :class:`InputFileError` or :class:`JournalIdentityError`; the run command calls this
    before lm-eval starts.
    """
    backend_args = {k: v for k, v in arguments.items() if k not in _JOURNAL_ARGUMENTS}
    identity = identity_of(str(arguments.get("backend")), backend_args, system_instruction)
    Journal(arguments["journal"]).check(identity, bool(arguments.get("journal_reuse")), _BEFORE_LOADING)


# The journal model's own arguments; the rest are the backend's.
_JOURNAL_ARGUMENTS = ("backend", "journal", "journal_reuse", "system_instruction", "apply_chat_template")
_BEFORE_LOADING = tuple(name for name in JournalIdentity.__struct_fields__ if name != "chat_template")


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
    """Runs ``backend`` (any lm-eval model name) with the other arguments, journaling to ``journal``.

    ``journal_reuse`` takes a journal's generations even when another model or setting made them;
    ``system_instruction`` and ``apply_chat_template`` are the run's, for the journal's identity.
    """

    def __init__(
        self,
        backend: str,
        journal: str,
        journal_reuse: bool = False,
        system_instruction: str | None = None,
        apply_chat_template: bool | str = False,
        **backend_args: Any,
    ) -> None:
        super().__init__()
        self.backend = backend
        identity = identity_of(backend, backend_args, system_instruction)
        self.journal = Journal(journal)
        self.journal.check(identity, journal_reuse, _BEFORE_LOADING)
        model_class = get_model(backend)
        self.inner: LM = model_class.create_from_arg_obj(backend_args)
        identity = msgspec.structs.replace(identity, chat_template=template_id(self.inner, apply_chat_template))
        self.journal.check(identity, journal_reuse, ("chat_template",))
        self.journal.begin(identity)
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
