"""Read a finished run: the harness's results file and, per task, its samples file, regraded.

Everything that analyses runs (report, compare, reproduction checks) starts here. Verdicts are not
taken from the samples file's per-problem means: each response is passed through the task's own
extraction filter and graded by :mod:`lm_eval_math500.harness.metrics`, so every repeat has its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from tqdm import tqdm

from lm_eval_math500.harness.filters import ExtractAnswer, Request
from lm_eval_math500.harness.metrics import doc_verdict

RESULTS_GLOB = "results_*.json"
# What every row of an lm-eval samples file (written by --log_samples) holds.
SAMPLES_FIELDS = ("doc_id", "doc", "filter", "resps", "filtered_resps")
_SAMPLES_FIX = "pass a samples_<task>_<time>.jsonl that an lm-eval run wrote with --log_samples"


class RunReadError(ValueError):
    """A path that is not a finished run, or a samples file that does not fit its run."""


@dataclass(frozen=True)
class Response:
    """One generation for a problem: the answer the task's filter extracted and the grader's verdict.

    Attributes:
        text: the generation as the backend returned it (stop strings already cut).
        answer: the extracted answer, ``None`` when there was none.
        format_ok: whether the response passed the filter's format check.
        correct: whether the answer equals the gold (the task's ``accuracy``), whatever the format.
        verdict: whether the response counts as right under the task's verdict for its filter
            (``answer_reward`` on r1_zero filters: right answer and format; else ``correct``).
        reason: the grader's rule that decided ``correct``.
        timed_out: whether the verdict hit the grader's time limit (and so counts as wrong).
        unfinished: whether the thinking never ended or the token budget cut the response off
            before it stated an answer (and so counts as wrong).
        budget_reached: whether the response used up its token budget.
        tokens: the response's length in tokens of the run's tokenizer, ``None`` when the run
            did not count it.
    """

    text: str
    answer: str | None
    format_ok: bool
    correct: bool
    verdict: bool
    reason: str
    timed_out: bool
    unfinished: bool = False
    budget_reached: bool = False
    tokens: int | None = None


@dataclass(frozen=True)
class Problem:
    """One problem of a task under one filter, with every repeat's response.

    Attributes:
        doc_id: the harness's index of the problem within the task.
        doc: the problem in the tasks' one schema (``problem, solution, answer, subject, level, unique_id``).
        prompt: the prompt the backend was given.
        responses: one per repeat, in the order the harness logged them.
    """

    doc_id: int
    doc: Mapping[str, Any]
    prompt: str
    responses: tuple[Response, ...]

    @property
    def unique_id(self) -> str:
        return self.doc.get("unique_id") or f"doc {self.doc_id}"

    @property
    def gold(self) -> str:
        return self.doc["answer"]

    @property
    def level(self) -> int | None:
        return self.doc.get("level")

    @property
    def subject(self) -> str | None:
        return self.doc.get("subject")


@dataclass(frozen=True)
class Logged:
    """One problem's row of the samples file under one filter: the per-problem values the harness
    logged (``accuracy``, ``pass@k``, ...), read as they are, without regrading.

    Attributes:
        doc_id: the harness's index of the problem within the task.
        doc: the problem in the tasks' one schema.
        scores: every metric the task logged for the problem, by name.
    """

    doc_id: int
    doc: Mapping[str, Any]
    scores: Mapping[str, float]


@dataclass(frozen=True)
class TaskRun:
    """One task of a run: its aggregated results, its configuration and where its samples are.

    Attributes:
        name: the task name.
        results: the harness's aggregated values, keyed ``"metric,filter"`` as in the results file.
        config: the task's configuration as the results file recorded it.
        samples_file: the task's ``samples_*.jsonl``, ``None`` when the run logged no samples.
    """

    name: str
    results: Mapping[str, Any]
    config: Mapping[str, Any]
    samples_file: Path | None

    @property
    def filters(self) -> list[str]:
        """The task's extraction filters, in the order the task defines them."""
        return [entry["name"] for entry in self.config.get("filter_list", [])]

    @property
    def generation_kwargs(self) -> Mapping[str, Any]:
        return self.config.get("generation_kwargs", {})

    @property
    def repeats(self) -> int:
        return int(self.config.get("repeats", 1))

    def value(self, metric: str, filter_name: str) -> tuple[float, float | None]:
        """The aggregated value of ``metric`` under ``filter_name`` and its standard error."""
        key = f"{metric},{filter_name}"
        if key not in self.results:
            known = sorted(k for k in self.results if "," in k and "_stderr" not in k)
            raise RunReadError(f"task {self.name} has no {key!r}; it has {', '.join(known)}")
        stderr = self.results.get(f"{metric}_stderr,{filter_name}")
        return float(self.results[key]), float(stderr) if isinstance(stderr, (int, float)) else None

    def logged(self, filter_name: str | None = None) -> list[Logged]:
        """Every problem's logged metric values under ``filter_name`` (default: the first filter)."""
        rows = self._rows(filter_name or self.filters[0])
        return [
            Logged(row["doc_id"], row["doc"], {name: float(row[name]) for name in row.get("metrics", []) if name in row})
            for row in rows
        ]

    def problems(self, filter_name: str | None = None) -> list[Problem]:
        """Every problem with its graded responses under ``filter_name`` (default: the first filter)."""
        filter_name = filter_name or self.filters[0]
        settings = self.filter_settings(filter_name)
        verdict_metric = self.verdict_metric(filter_name)
        rows = self._rows(filter_name)
        texts = [[text if isinstance(text, str) else "" for group in row["resps"] for text in group] for row in rows]
        docs = [row["doc"] for row in rows]
        # Identical repeats (greedy decoding, short answers) are extracted once per problem.
        distinct = [list(dict.fromkeys(group)) for group in texts]
        requests = [Request.of(_arguments(row)) for row in rows]
        extracted_once = ExtractAnswer(**settings).extract(distinct, docs, requests)
        extractions = [
            _spread(group, dict(zip(unique, done, strict=True)))
            for group, unique, done in zip(texts, distinct, extracted_once, strict=True)
        ]
        problems = []
        graded = tqdm(
            zip(rows, texts, extractions, strict=True),
            total=len(rows), desc=f"Grading {self.name} ({filter_name})", unit="problem", leave=False,
        )  # fmt: skip
        for row, group, extracted in graded:
            responses = []
            outcomes: dict[str | None, Any] = {}  # repeats often give the same answer: grade it once
            for text, extraction in zip(group, extracted, strict=True):
                if extraction.answer not in outcomes:
                    outcomes[extraction.answer] = doc_verdict(extraction.answer, row["doc"])
                outcome = outcomes[extraction.answer]
                format_counts = verdict_metric == "answer_reward"
                responses.append(
                    Response(
                        text, extraction.answer, extraction.format_ok, outcome.correct,
                        outcome.correct and (extraction.format_ok or not format_counts), outcome.reason,
                        outcome.timed_out, extraction.unfinished, extraction.budget_reached,
                    )
                )  # fmt: skip
            problems.append(Problem(row["doc_id"], row["doc"], _prompt(row), tuple(responses)))
        return problems

    def _rows(self, filter_name: str) -> list[dict[str, Any]]:
        """The samples file's rows for ``filter_name``, by doc_id."""
        rows = self._rows_by_filter.get(filter_name, [])
        if not rows:
            raise RunReadError(f"{self.samples_file} has no rows for filter {filter_name!r}")
        return rows

    @cached_property
    def _rows_by_filter(self) -> dict[str, list[dict[str, Any]]]:
        """The samples file read once: rows grouped by filter, each group sorted by doc_id."""
        if self.samples_file is None:
            raise RunReadError(
                f"task {self.name} has no samples file; run lm_eval with --log_samples to analyse problems"
            )
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in read_samples_file(self.samples_file):
            grouped.setdefault(row.get("filter"), []).append(row)
        return {name: sorted(rows, key=lambda row: row["doc_id"]) for name, rows in grouped.items()}

    def verdict_metric(self, filter_name: str) -> str:
        """The metric that is the task's verdict under ``filter_name``: ``answer_reward`` where the
        filter reads r1_zero responses (the answer counts only in the format), else ``accuracy``."""
        return "answer_reward" if self.filter_settings(filter_name).get("variant") == "r1_zero" else "accuracy"

    def filter_settings(self, filter_name: str) -> dict[str, Any]:
        """The keyword arguments the task gave its extraction filter ``filter_name``."""
        for entry in self.config.get("filter_list", []):
            if entry["name"] == filter_name:
                (step,) = entry["filter"]
                settings = {key: value for key, value in step.items() if key != "function"}
                # Runs graded before version 2.0 name the variant ``style``.
                if "style" in settings:
                    settings["variant"] = settings.pop("style")
                return settings
        raise RunReadError(f"task {self.name} has no filter {filter_name!r}; it has {', '.join(self.filters)}")


@dataclass(frozen=True)
class Run:
    """A finished lm-eval run as its results file describes it.

    Attributes:
        results_file: the ``results_<time>.json`` the run wrote.
        model: the model's name as the harness recorded it.
        tasks: every task of the run (groups left out), by name.
        raw: the whole results file, for anything else it records.
    """

    results_file: Path
    model: str
    tasks: Mapping[str, TaskRun]
    raw: Mapping[str, Any]

    def task(self, name: str | None = None) -> TaskRun:
        """The task called ``name``; without a name, the run's only task."""
        if name is None:
            if len(self.tasks) != 1:
                raise RunReadError(f"{self.results_file} holds tasks {', '.join(self.tasks)}: name one")
            return next(iter(self.tasks.values()))
        if name not in self.tasks:
            raise RunReadError(f"{self.results_file} has no task {name!r}; it has {', '.join(self.tasks)}")
        return self.tasks[name]


def find_results(path: str | Path) -> Path:
    """The newest results file at ``path``: the file itself, or the newest one anywhere below a folder."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise RunReadError(f"{path} does not exist; give the --output_path folder of a finished lm_eval run")
    found = sorted(path.rglob(RESULTS_GLOB), key=lambda p: (p.name, str(p)))
    if not found:
        raise RunReadError(
            f"no {RESULTS_GLOB} under {path}; give the --output_path folder of a finished lm_eval run"
        )
    return found[-1]


def read_run(path: str | Path) -> Run:
    """Read the run at ``path`` (a results file or a folder holding one); samples files are matched by time."""
    results_file = find_results(path)
    try:
        raw = json.loads(results_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise RunReadError(f"{results_file} is not a JSON results file ({err.msg}, line {err.lineno})") from None
    if not isinstance(raw, dict) or "results" not in raw or "configs" not in raw:
        raise RunReadError(f"{results_file} is not an lm-eval results file (no 'results' and 'configs')")
    stamp = results_file.stem.removeprefix("results_")
    tasks = {
        name: TaskRun(name, raw["results"].get(name, {}), config, _samples_file(results_file.parent, name, stamp))
        for name, config in raw["configs"].items()
    }
    return Run(results_file, str(raw.get("model_name") or raw.get("config", {}).get("model", "")), tasks, raw)


def _samples_file(folder: Path, task: str, stamp: str) -> Path | None:
    path = folder / f"samples_{task}_{stamp}.jsonl"
    return path if path.is_file() else None


def _spread(group: list[str], by_text: Mapping[str, Any]) -> list[Any]:
    """Each text's extraction, looked up among the distinct texts' extractions."""
    return [by_text[text] for text in group]


def _arguments(row: Mapping[str, Any]) -> list[Any]:
    """The (prompt, generation kwargs) of a logged request (lm-eval writes ``arguments`` as a dict or a list)."""
    arguments = row.get("arguments")
    if isinstance(arguments, dict):
        arguments = next(iter(arguments.values()), {})
        return [arguments.get("arg_0", ""), arguments.get("arg_1")] if isinstance(arguments, dict) else []
    if isinstance(arguments, list) and arguments and isinstance(arguments[0], list):
        return list(arguments[0])
    return []


def _prompt(row: Mapping[str, Any]) -> str:
    """The prompt text of a logged request."""
    return Request.of(_arguments(row)).prompt


def read_samples_file(path: str | Path) -> list[dict[str, Any]]:
    """The rows of an lm-eval samples file; anything else is a :class:`RunReadError` naming the line."""
    path = Path(path)
    if not path.is_file():
        raise RunReadError(f"{path} does not exist; {_SAMPLES_FIX}")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise RunReadError(f"{path} is not a samples file (line {number} is not JSON); {_SAMPLES_FIX}") from None
            missing = [field for field in SAMPLES_FIELDS if not isinstance(row, dict) or field not in row]
            if missing:
                raise RunReadError(
                    f"{path} is not a samples file (line {number} has no {', '.join(missing)}); {_SAMPLES_FIX}"
                )
            rows.append(row)
    if not rows:
        raise RunReadError(f"{path} is empty; {_SAMPLES_FIX}")
    return rows
