"""``--model replay``: answer each request with a generation saved earlier, so it can be re-graded.

Reads JSONL in the layouts people save generations in: lm-eval's own ``samples_*.jsonl``, this
project's export, CS336 / Dr. GRPO ``results.jsonl`` (``prompt`` + ``response``) and Qwen2.5-Math
outputs (``question`` + ``code`` list). Requests are matched to saved generations by problem text.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model
from lm_eval.models.utils import postprocess_generated_text
from tqdm import tqdm

# The question inside a prompt built from the R1-Zero template ("User: ...\nAssistant:").
_R1_QUESTION = re.compile(r"\nUser: (.*)\nAssistant:", re.DOTALL)


class Replayed(str):
    """A generation the replay model hands over: made earlier, under a token budget this run does not
    know, so the task records the budget as unknown instead of measuring it against its own."""


class ReplayInputError(ValueError):
    """The replay model's arguments or file are unusable; the message says what to change."""


class MissingGenerationError(LookupError):
    """A problem has no saved generation (or fewer than the run asks for)."""


# What ``--model_args`` may hold, and what each means (also the text of ``run --help``).
ARGUMENTS = {
    "path": "the JSONL file of saved generations (required)",
    "keep_stop": "True keeps the stop string the generation ended on, as vLLM's include_stop_str_in_output does "
    "(default False: cut it, as the hf and vllm backends do)",
    "model": "the name the results are filed under, OUTPUT/<model>/ (default: the file's stem)",
}
# Arguments lm-eval hands every model; generations that are already written have no use for them.
_HARNESS_ARGUMENTS = ("batch_size", "max_batch_size", "device")


def check_arguments(arguments: Mapping[str, Any]) -> None:
    """Raise :class:`ReplayInputError` for an unknown argument, a missing file or a keep_stop that is not a bool.

    The run command calls this before lm-eval starts, so a typo is reported at once.
    """
    unknown = sorted(set(arguments) - set(ARGUMENTS) - set(_HARNESS_ARGUMENTS))
    if unknown:
        raise ReplayInputError(_unknown_arguments(unknown))
    path = arguments.get("path")
    if not path:
        raise ReplayInputError("the replay model needs a file: --model_args path=FILE")
    if not Path(path).is_file():
        raise ReplayInputError(
            f"replay file {path} does not exist; pass a saved-generations JSONL as --model_args path=FILE"
        )
    if not isinstance(arguments.get("keep_stop", False), bool):
        raise ReplayInputError(f"keep_stop takes True or False, not {arguments['keep_stop']!r}")


def run_name(path: str | Path) -> str:
    """The name a replay of ``path`` is filed under: the file's stem, e.g. ``results`` for ``runs/results.jsonl``."""
    return Path(path).stem


def problem_key(text: str) -> str:
    """Problem text with whitespace folded, so copies that differ only in spacing match."""
    return " ".join(text.split())


def _problem_of(row: dict[str, Any]) -> str | None:
    """The problem text a saved row answers, whatever its layout."""
    doc = row.get("doc")
    if isinstance(doc, dict):
        return doc.get("problem") or doc.get("question")
    for field in ("problem", "question"):
        if isinstance(row.get(field), str):
            return row[field]
    prompt = row.get("prompt")
    if isinstance(prompt, str):
        match = _R1_QUESTION.search(prompt)
        return match.group(1) if match else prompt
    return None


def _generations_of(row: dict[str, Any]) -> list[str]:
    """The saved generations of a row, in order (several for repeated sampling)."""
    if "resps" in row:  # lm-eval samples: one list of repeats per request
        return [text for group in row["resps"] for text in group]
    for field in ("pred_text", "response", "code", "output", "generation"):
        value = row.get(field)
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [str(text) for text in value]
    return []


def read_generations(
    path: str | Path, key_of: Callable[[dict[str, Any]], str] | None = None
) -> dict[str, list[str]]:
    """Saved generations keyed by :func:`problem_key`; lm-eval rows repeated per filter count once.

    ``key_of`` keys each row another way instead (the journal keys rows by request).
    """
    if not Path(path).is_file():
        raise ReplayInputError(f"replay file {path} does not exist; pass a saved-generations JSONL as path=FILE")
    saved: dict[str, list[str]] = defaultdict(list)
    seen_docs: set[tuple[Any, Any]] = set()
    with Path(path).open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ReplayInputError(
                    f"{path}:{line_number} is not JSON ({error.msg}); "
                    "each line of a replay file must be one JSON object"
                ) from None
            if not isinstance(row, dict):
                raise ReplayInputError(f"{path}:{line_number} is not a JSON object; each line must be one object")
            if "doc_id" in row:
                identity = (row["doc_id"], row.get("doc_hash"))
                if identity in seen_docs:
                    continue
                seen_docs.add(identity)
            if key_of is not None:
                saved[key_of(row)].extend(_generations_of(row))
                continue
            problem = _problem_of(row)
            if problem is None:
                raise ReplayInputError(
                    f"{path}:{line_number} has no problem text (fields {sorted(row)}); "
                    "each line needs problem, question, prompt or an lm-eval doc"
                )
            saved[problem_key(problem)].extend(_generations_of(row))
    return dict(saved)


@register_model("replay")
class ReplayLM(LM):
    """A model that replays saved generations; ``path`` names the JSONL file.

    Like the hf and vllm backends it cuts each generation at the first stop string and drops the
    string; ``keep_stop=True`` keeps it, as vLLM's ``include_stop_str_in_output`` (used by CS336's
    evaluation script) does, so format checks can tell a stop from a truncation. Each generation
    comes back as a :class:`Replayed`. ``model`` is only read by lm-eval's results tracker from the
    arguments, to name the output folder.
    """

    def __init__(
        self, path: str | None = None, keep_stop: bool = False, model: str | None = None, **others: Any
    ) -> None:
        super().__init__()
        check_arguments({"path": path, "keep_stop": keep_stop, "model": model, **others})
        self.path = str(path)
        self.keep_stop = keep_stop
        self.generations = read_generations(path)

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[Replayed]:
        served: dict[str, int] = defaultdict(int)
        outputs = []
        for request in tqdm(requests, disable=disable_tqdm, desc="Replaying generations"):
            problem = request.doc.get("problem") or request.doc.get("question", "")
            key = problem_key(problem)
            saved = self.generations.get(key, [])
            if served[key] >= len(saved):
                label = request.doc.get("unique_id", f"doc {request.doc_id}")
                raise MissingGenerationError(
                    f"{self.path} has {len(saved)} generation(s) for {label} but the run needs more "
                    f"({problem[:80]!r}); save one for it, or run only the saved problems with --samples"
                )
            text = saved[served[key]]
            served[key] += 1
            outputs.append(Replayed(self._stop(text, request.args[1].get("until"))))
        return outputs

    def _stop(self, text: str, until: list[str] | str | None) -> str:
        cut = postprocess_generated_text(text, until, None)
        if not self.keep_stop or cut == text:
            return cut
        stops = [until] if isinstance(until, str) else until or []
        return cut + next(stop for stop in stops if stop and text.startswith(cut + stop))

    def loglikelihood(self, requests: list[Instance], disable_tqdm: bool = False) -> list:
        raise NotImplementedError("the replay model only serves generate_until tasks")

    def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False) -> list:
        raise NotImplementedError("the replay model only serves generate_until tasks")


def _unknown_arguments(names: list[str]) -> str:
    """One line naming each unknown replay argument, with the nearest known one when there is one."""
    guesses = []
    for name in names:
        near = difflib.get_close_matches(name, ARGUMENTS, n=1)
        guesses.append(f"{name!r} (did you mean {near[0]!r}?)" if near else repr(name))
    return f"unknown replay argument {', '.join(guesses)}; the replay model takes {', '.join(ARGUMENTS)}"
