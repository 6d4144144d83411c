"""``--model replay``: answer each request with a generation saved earlier, so it can be re-graded.

Reads JSONL in the layouts people save generations in: lm-eval's own ``samples_*.jsonl``, this
project's export, CS336 / Dr. GRPO ``results.jsonl`` (``prompt`` + ``response``), Qwen2.5-Math
outputs (``question`` + ``code`` list) and this project's journals; each line is checked against
:class:`~lm_eval_math500.harness.input_files.SavedRow`. Requests are matched to saved generations
by problem text, and every task of a run draws on them by itself: a file of generations for one
problem answers it in each task of the run (``math500_all`` re-grades the same generations under
every variant), while a row that names its task (a journal's) answers that task only. With
``only_saved=true`` a run takes only the problems the file holds (:func:`saved_samples` turns the
file into lm-eval's ``samples``).
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model
from lm_eval.api.task import Task
from lm_eval.models.utils import postprocess_generated_text
from tqdm import tqdm

from lm_eval_math500.harness.input_files import InputFileError, Located, SavedRow, read_saved_rows
from lm_eval_math500.harness.output_paths import path_component

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
    "model": "the name the results are filed under, OUTPUT/<model>/ (default: the file's stem); "
    "characters that cannot be in a folder name become _",
    "only_saved": "True runs only the problems the file holds, in each task of the run (default False: every "
    "problem, so each needs a saved generation); --limit N then takes the first N of them",
}
# Arguments lm-eval hands every model; generations that are already written have no use for them.
_HARNESS_ARGUMENTS = ("batch_size", "max_batch_size", "device")


def check_arguments(arguments: Mapping[str, Any]) -> None:
    """Raise :class:`ReplayInputError` for an unknown argument, a missing file or a keep_stop that
    is not a bool, and :class:`InputFileError` for a file that is not one of saved generations.

    The run command calls this before lm-eval starts, so a typo or a bad file is reported at once.
    """
    unknown = sorted(set(arguments) - set(ARGUMENTS) - set(_HARNESS_ARGUMENTS))
    if unknown:
        raise ReplayInputError(_unknown_arguments(unknown))
    path = arguments.get("path")
    if not path:
        raise ReplayInputError("the replay model needs a file: --model_args path=FILE")
    if not Path(path).exists():
        raise ReplayInputError(
            f"replay file {path} does not exist; pass a saved-generations JSONL as --model_args path=FILE"
        )
    for name in ("keep_stop", "only_saved"):
        if not isinstance(arguments.get(name, False), bool):
            raise ReplayInputError(f"{name} takes True or False, not {arguments[name]!r}")
    try:
        saved_generations(path)
    except InputFileError:
        if _is_results_file(path):
            raise ReplayInputError(
                f"{path} is an lm-eval results file (the scores), not saved generations; pass the "
                "samples_<task>_<time>.jsonl beside it, which a run writes with --log_samples"
            ) from None
        raise


def _is_results_file(path: str | Path) -> bool:
    """Whether ``path`` is one JSON object laid out as lm-eval's results_*.json."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(value, dict) and "results" in value


def run_name(path: str | Path, model: str | None = None) -> str:
    """The name a replay of ``path`` is filed under: ``model`` when given, else the file's stem
    (``results`` for ``runs/results.jsonl``), made one path component."""
    if model is not None:
        return path_component(str(model), "the replay model= name")
    return path_component(Path(path).stem, f"the name of replay file {path}")


def problem_key(text: str) -> str:
    """Problem text with whitespace folded, so copies that differ only in spacing match."""
    return " ".join(text.split())


def _problem_of(row: SavedRow) -> str | None:
    """The problem text a saved row answers, whatever its layout."""
    if row.doc is not None:
        return row.doc.problem or row.doc.question
    if row.problem is not None or row.question is not None:
        return row.problem if row.problem is not None else row.question
    if row.prompt is not None:
        match = _R1_QUESTION.search(row.prompt)
        return match.group(1) if match else row.prompt
    return None


# One saved generation: the task that made it (None when the file does not say) and its text.
Saved = tuple[str | None, str]


def _saved_rows(path: str | Path) -> Iterator[tuple[SavedRow, list[str], Located]]:
    """Each distinct row of a replay file with its generations and its line; lm-eval rows
    repeated per filter count once."""
    seen_docs: set[tuple[int, str | None]] = set()
    for line, row in read_saved_rows(path):
        if row.doc_id is not None:
            identity = (row.doc_id, row.doc_hash)
            if identity in seen_docs:
                continue
            seen_docs.add(identity)
        generations = row.generations()
        if generations is None:
            raise line.error(
                f"no generations (fields {', '.join(sorted(line.value))}); each line needs resps, response, "
                "pred_text, code, output or generation"
            )
        yield row, generations, line


def saved_generations(path: str | Path) -> dict[str, list[Saved]]:
    """The generations of a replay file by :func:`problem_key`, each with the task that made it.

    Read once per version of the file: the run command checks the file before lm-eval starts,
    and the replay model then takes what was read.
    """
    resolved = Path(path).resolve()
    try:
        stat = resolved.stat()
    except OSError:  # the reader names what is wrong with the path
        return _read_saved(resolved, 0, 0)
    return _read_saved(resolved, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=1)
def _read_saved(path: Path, mtime_ns: int, size: int) -> dict[str, list[Saved]]:
    saved: dict[str, list[Saved]] = defaultdict(list)
    for row, generations, line in _saved_rows(path):
        problem = _problem_of(row)
        if problem is None:
            raise line.error(
                f"no problem text (fields {', '.join(sorted(line.value))}); "
                "each line needs problem, question, prompt or an lm-eval doc"
            )
        saved[problem_key(problem)].extend((row.task, text) for text in generations)
    return dict(saved)


def read_generations(
    path: str | Path, key_of: Callable[[dict[str, Any]], str] | None = None
) -> dict[str, list[str]]:
    """Saved generations keyed by :func:`problem_key`; lm-eval rows repeated per filter count once.

    ``key_of`` keys each row (its JSON object) another way instead.
    """
    if key_of is None:
        return {key: [text for _, text in saved] for key, saved in saved_generations(path).items()}
    keyed: dict[str, list[str]] = defaultdict(list)
    for _, generations, line in _saved_rows(path):
        keyed[key_of(line.value)].extend(generations)
    return dict(keyed)


def _pool(saved: Mapping[str, list[Saved]], task: str, key: str) -> list[str]:
    """The generations ``task`` draws on for the problem ``key``: those saved for that task, when
    the file names tasks for the problem, else all of the problem's."""
    generations = saved.get(key, [])
    own = [text for made_by, text in generations if made_by == task]
    return own or [text for _, text in generations]


def saved_samples(path: str | Path, tasks: Mapping[str, Task], limit: float | None = None) -> dict[str, list[int]]:
    """lm-eval's ``samples`` for ``only_saved``: the index of every problem of each task that
    ``path`` holds a generation for, the first ``limit`` of them (a fraction below 1 as lm-eval's
    ``--limit`` reads it). Raises :class:`ReplayInputError` for a task none of whose problems it holds."""
    saved = saved_generations(path)
    samples = {}
    for name, task in tasks.items():
        found = [i for i, doc in enumerate(task.eval_docs) if problem_key(_doc_problem(doc)) in saved]
        if not found:
            raise ReplayInputError(
                f"{path} holds none of the problems of task {name}; leave {name} out of --tasks, "
                "or replay a file of its problems"
            )
        if limit is not None:
            found = found[: math.ceil(len(found) * limit) if limit < 1 else int(limit)]
        samples[name] = found
    return samples


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
        self,
        path: str | None = None,
        keep_stop: bool = False,
        model: str | None = None,
        only_saved: bool = False,
        **others: Any,
    ) -> None:
        super().__init__()
        check_arguments({"path": path, "keep_stop": keep_stop, "model": model, "only_saved": only_saved, **others})
        self.path = str(path)
        self.keep_stop = keep_stop
        self.only_saved = only_saved
        self.generations = saved_generations(path)

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[Replayed]:
        """Each task draws the generations it needs from the start of its problem's, on its own."""
        keys = [problem_key(_doc_problem(request.doc)) for request in requests]
        needed = Counter((request.task_name, key) for request, key in zip(requests, keys, strict=True))
        self._check_enough(requests, keys, needed)
        drawn: Counter[tuple[str, str]] = Counter()
        outputs = []
        replaying = zip(requests, keys, strict=True)
        # disable=None: a progress bar only on a terminal
        for request, key in tqdm(replaying, total=len(requests), disable=disable_tqdm or None, desc="Replaying generations"):
            text = _pool(self.generations, request.task_name, key)[drawn[request.task_name, key]]
            drawn[request.task_name, key] += 1
            outputs.append(Replayed(self._stop(text, request.args[1].get("until"))))
        return outputs

    def _check_enough(self, requests: list[Instance], keys: list[str], needed: Counter[tuple[str, str]]) -> None:
        """Raise :class:`MissingGenerationError` when the file holds fewer generations for a
        request's problem than its task needs (one per repeat), naming the fix."""
        have = {pair: len(_pool(self.generations, *pair)) for pair in needed}
        short = [(r, k) for r, k in zip(requests, keys, strict=True) if have[r.task_name, k] < needed[r.task_name, k]]
        if not short:
            return
        # a problem without any generation first: no --repeats makes up for it
        request, key = min(short, key=lambda pair: have[pair[0].task_name, pair[1]] > 0)
        label = request.doc.get("unique_id", f"doc {request.doc_id}")
        problem = _doc_problem(request.doc)[:80]
        count = have[request.task_name, key]
        if not count:
            fix = (
                # lm-eval-math500 run turns only_saved into lm-eval's samples; a direct caller passes them itself
                "only_saved takes effect through lm-eval-math500 run; from Python, pass "
                "simple_evaluate(samples=saved_samples(PATH, TASKS))"
                if self.only_saved
                else "add only_saved=true to --model_args to run only the problems the file holds"
            )
            raise MissingGenerationError(
                f"{self.path} has no generation for {label} ({problem!r}) of task {request.task_name}; {fix}"
            )
        raise MissingGenerationError(
            f"{self.path} has {count} generation(s) for {label} ({problem!r}) and task {request.task_name} "
            f"needs {needed[request.task_name, key]} (one per repeat); pass --repeats {min(have.values())}, which "
            "every problem of the run has"
        )

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


def _doc_problem(doc: Mapping[str, Any]) -> str:
    """The problem text of a task's doc (MATH's problem, GSM8K's question)."""
    return doc.get("problem") or doc.get("question", "")


def _unknown_arguments(names: list[str]) -> str:
    """One line naming each unknown replay argument, with the nearest known one when there is one."""
    guesses = []
    for name in names:
        near = difflib.get_close_matches(name, ARGUMENTS, n=1)
        guesses.append(f"{name!r} (did you mean {near[0]!r}?)" if near else repr(name))
    return f"unknown replay argument {', '.join(guesses)}; the replay model takes {', '.join(ARGUMENTS)}"
