"""Read a finished run: the harness's results file and, per task, the records its samples file holds.

Everything that analyses runs (report, compare, export, reproduction checks) starts here. Each
response is read from the record the run logged for it (:mod:`lm_eval_math500.harness.records`):
the extracted answer, its flags, the grader's verdict and reason, its token count. Nothing is
extracted or graded again, unless the run is read with ``regrade``: then every response is
re-extracted from its logged text and request and graded with today's grader, the only way to
read a samples file written before runs logged records.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from tqdm import tqdm

from lm_eval_math500.harness.budget import TokenCounts
from lm_eval_math500.harness.input_files import SAMPLES_FILE, InputFileError, SamplesRow, read_results, read_samples_rows
from lm_eval_math500.harness.metrics import grade_records
from lm_eval_math500.harness.output_paths import is_component
from lm_eval_math500.harness.records import Extractor, Record, Request, RunSettings, current_version, read_record

RESULTS_GLOB = "results_*.json"
# What every row of an lm-eval samples file (written by --log_samples) holds.
SAMPLES_FIELDS = SamplesRow.__struct_fields__[: len(SamplesRow.__struct_fields__) - len(SamplesRow.__struct_defaults__)]
# A folder holding more runs than this is listed by count after the first ones.
LISTED_RUNS = 10

log = logging.getLogger(__name__)


class RunReadError(ValueError):
    """A path that is not a finished run, a results or samples file that is not one (the message
    names the line and the field), or a samples file that does not fit its run."""


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
        budget_reached: whether the response used up its token budget (False where the budget
            is unknown: see ``max_gen_toks``).
        tokens: the response's length in tokens of the run's tokenizer, ``None`` when the run
            did not count it.
        max_gen_toks: the token budget the response was generated under, ``None`` when the run
            did not know it (a replayed generation): then ``budget_reached`` was not measured.
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
    max_gen_toks: int | None = None

    @classmethod
    def of(cls, text: str, record: Record) -> "Response":
        """The response ``text`` as its graded ``record`` describes it."""
        return cls(
            text, record.answer, record.format_ok, bool(record.correct), bool(record.verdict), record.reason or "",
            bool(record.timed_out), record.unfinished, record.budget_reached, record.tokens, record.max_gen_toks,
        )  # fmt: skip


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
        regrade: read the responses by extracting and grading them again with today's grader,
            instead of from the records the run logged.
        replayed: the run replayed saved generations (``--model replay``), whose token budget it
            did not know.
    """

    name: str
    results: Mapping[str, Any]
    config: Mapping[str, Any]
    samples_file: Path | None
    regrade: bool = False
    replayed: bool = False

    @property
    def filters(self) -> list[str]:
        """The task's extraction filters, in the order the task defines them."""
        return [entry["name"] for entry in self.config.get("filter_list", [])]

    @property
    def first_filter(self) -> str:
        """The filter read when none is named: the task's first."""
        if not self.filters:
            raise RunReadError(f"task {self.name} has no filters in its results file; analyse a run of these tasks")
        return self.filters[0]

    @property
    def generation_kwargs(self) -> Mapping[str, Any]:
        return self.config.get("generation_kwargs", {})

    @property
    def repeats(self) -> int:
        return int(self.config.get("repeats", 1))

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The task's metadata as the run recorded it (its options and version, the model's arguments)."""
        return self.config.get("metadata") or {}

    def value(self, metric: str, filter_name: str) -> tuple[float, float | None]:
        """The aggregated value of ``metric`` under ``filter_name`` and its standard error."""
        key = f"{metric},{filter_name}"
        if key not in self.results:
            known = sorted(k for k in self.results if "," in k and "_stderr" not in k)
            raise RunReadError(f"task {self.name} has no {key!r}; it has {', '.join(known)}")
        value, stderr = self.results[key], self.results.get(f"{metric}_stderr,{filter_name}")
        if not isinstance(value, (int, float)):
            raise RunReadError(f"task {self.name} has no value of {key!r} (the results file says {value!r})")
        return float(value), float(stderr) if isinstance(stderr, (int, float)) else None

    def logged(self, filter_name: str | None = None) -> list[Logged]:
        """Every problem's logged metric values under ``filter_name`` (default: the first filter)."""
        rows = self._rows(filter_name or self.first_filter)
        return [
            Logged(row["doc_id"], row["doc"], {name: float(row[name]) for name in row.get("metrics", []) if name in row})
            for row in rows
        ]

    def problems(self, filter_name: str | None = None) -> list[Problem]:
        """Every problem with its responses under ``filter_name`` (default: the first filter), as the
        run's records describe them (or, with ``regrade``, as today's grader grades them)."""
        filter_name = filter_name or self.first_filter
        self.filter_settings(filter_name)  # names the filters when there is no such one
        rows = self._rows(filter_name)
        if self.regrade:
            return self._regraded(filter_name, rows)
        problems = [Problem(row["doc_id"], row["doc"], _prompt(row), tuple(responses_of(row, self.samples_file))) for row in rows]
        versions = {r.version for row in rows for r in map(read_record, _filtered(row)) if r is not None}
        for version in sorted(versions - {current_version()}, key=str):
            _warn_version(str(self.samples_file), version)
        return problems

    def _regraded(self, filter_name: str, rows: list[dict[str, Any]]) -> list[Problem]:
        """Every response extracted from its logged text and request and graded with today's grader."""
        settings = self.filter_settings(filter_name)
        extractor = Extractor(
            settings["variant"], settings.get("format_mode", "tags"), settings.get("strict", False),
            self.verdict_metric(filter_name),
        )  # fmt: skip
        metadata = self.metadata
        run_settings = RunSettings(
            think_end_token=metadata.get("think_end_token") or None,
            tokenizer=metadata.get("tokenizer") or metadata.get("pretrained") or None,
            version=current_version(),
        )
        counts = TokenCounts(run_settings.tokenizer)
        texts = [_texts(row) for row in rows]
        distinct = [list(dict.fromkeys(group)) for group in texts]  # identical repeats (greedy decoding) are read once
        requests = [Request.of(_arguments(row)) for row in rows]
        if self.replayed:
            requests = [Request(request.prompt, None) for request in requests]
        # One call for the whole run: whether the backend cut the stop string is decided from all its responses.
        extracted = extractor.records(distinct, [row["doc"] for row in rows], requests, run_settings, counts.count)
        problems = []
        graded = tqdm(
            zip(rows, texts, distinct, extracted, strict=True),
            total=len(rows), desc=f"Re-grading {self.name} ({filter_name})", unit="problem", leave=False,
            disable=None,  # a progress bar only on a terminal
        )  # fmt: skip
        for row, group, unique, records in graded:
            grade_records(records, row["doc"])
            by_text = dict(zip(unique, records, strict=True))
            responses = tuple(Response.of(text, by_text[text]) for text in group)
            problems.append(Problem(row["doc_id"], row["doc"], _prompt(row), responses))
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
        if self.samples_file is None and not is_component(f"samples_{self.name}"):
            raise RunReadError(
                f"task {self.name!r} has a name no samples file can have (it holds a path separator); "
                "rename the task in the results file"
            )
        if self.samples_file is None:
            raise RunReadError(
                f"task {self.name} has no samples file; run lm_eval with --log_samples to analyse problems"
            )
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in read_samples_file(self.samples_file):
            grouped.setdefault(row.get("filter"), []).append(row)
        return {name: sorted(rows, key=lambda row: row["doc_id"]) for name, rows in grouped.items()}

    def verdict_metric(self, filter_name: str) -> str:
        """The metric that is the task's verdict under ``filter_name``, as the filter names it
        (``verdict_metric``); runs made before filters named it: ``answer_reward`` where the filter
        reads r1_zero responses (the answer counts only in the format), else ``accuracy``."""
        settings = self.filter_settings(filter_name)
        if "verdict_metric" in settings:
            return settings["verdict_metric"]
        return "answer_reward" if settings.get("variant") == "r1_zero" else "accuracy"

    def filter_settings(self, filter_name: str) -> dict[str, Any]:
        """The keyword arguments the task gave its extraction filter ``filter_name``."""
        for entry in self.config.get("filter_list", []):
            if entry["name"] == filter_name:
                steps = [step for step in entry["filter"] if "variant" in step or "style" in step]
                if len(steps) != 1:
                    raise RunReadError(
                        f"filter {filter_name!r} of task {self.name} is not one of these tasks' extraction filters; "
                        "analyse a run of these tasks"
                    )
                settings = {key: value for key, value in steps[0].items() if key != "function"}
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


def results_files(folder: str | Path) -> list[Path]:
    """Every results file below ``folder``, oldest first (by the time in their names)."""
    return sorted(Path(folder).rglob(RESULTS_GLOB), key=lambda p: (p.name, str(p)))


def find_results(path: str | Path, since: float | None = None) -> Path:
    """The results file of the run at ``path``: the file itself, or the one results file below a folder.

    A folder holding several runs (models, or runs one after another) is a :class:`RunReadError`
    that lists them: which one is meant is the user's to say. With ``since`` (a time as
    ``time.time()`` gives it), only results files written since then count.
    """
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise RunReadError(f"{path} does not exist; give the --output_path folder of a finished lm_eval run")
    found = [p for p in results_files(path) if since is None or p.stat().st_mtime >= since]
    if not found:
        raise RunReadError(
            f"no {RESULTS_GLOB} under {path}; give the --output_path folder of a finished lm_eval run"
        )
    if len(found) > 1:
        listed = ", ".join(str(p.relative_to(path)) for p in found[:LISTED_RUNS])
        more = f" and {len(found) - LISTED_RUNS} more" if len(found) > LISTED_RUNS else ""
        raise RunReadError(
            f"{path} holds {len(found)} runs ({listed}{more}); name one: pass its results file or the folder that holds only it"
        )
    return found[0]


def read_run(path: str | Path, regrade: bool = False) -> Run:
    """Read the run at ``path`` (a results file or a folder holding one); samples files are matched by
    time. With ``regrade`` its responses are extracted and graded again with today's grader."""
    results_file = find_results(path)
    with _run_errors():
        raw = read_results(results_file)
    stamp = results_file.stem.removeprefix("results_")
    config = raw.get("config") or {}
    replayed = config.get("model") == "replay"
    tasks = {
        name: TaskRun(
            name, raw["results"].get(name, {}), task_config, _samples_file(results_file.parent, name, stamp), regrade, replayed
        )
        for name, task_config in raw["configs"].items()
    }
    return Run(results_file, str(raw.get("model_name") or config.get("model") or ""), tasks, raw)


def _samples_file(folder: Path, task: str, stamp: str) -> Path | None:
    """The samples file lm-eval wrote for ``task`` beside its results file; a task name that is not
    a plain file name has none."""
    name = f"samples_{task}_{stamp}.jsonl"
    path = folder / name
    return path if is_component(name) and path.is_file() else None


def results_file_of(samples_file: str | Path) -> Path:
    """The results file of the run that wrote ``samples_file`` (the one of the same time, beside it)."""
    samples_file = Path(samples_file)
    stamp = samples_file.stem.rsplit("_", 1)[-1]
    results_file = samples_file.with_name(f"results_{stamp}.json")
    if not results_file.is_file():
        raise RunReadError(
            f"no {results_file.name} beside {samples_file}; re-grading needs the run's results file, "
            "which records the task's filters: keep the two files together"
        )
    return results_file


def _texts(row: Mapping[str, Any]) -> list[str]:
    """A row's responses, one per repeat, as the backend returned them."""
    return [text if isinstance(text, str) else "" for group in row["resps"] for text in group]


def _filtered(row: Mapping[str, Any]) -> list[Any]:
    """A row's filtered responses, one per repeat."""
    return [item for group in row["filtered_resps"] for item in group]


def responses_of(row: Mapping[str, Any], path: str | Path | None) -> list[Response]:
    """A samples-file row's responses, each as the record the run logged for it describes it."""
    decoded: dict[str, Record | None] = {}  # the samples of a problem often log one record alike
    records = [
        (decoded[item] if item in decoded else decoded.setdefault(item, read_record(item))) if isinstance(item, str) else read_record(item)
        for item in _filtered(row)
    ]
    texts = _texts(row)
    if None not in records and len(records) != len(texts):
        raise RunReadError(
            f"{path}: the row of doc_id {row['doc_id']} (filter {row['filter']}) holds {len(records)} records for "
            f"{len(texts)} responses; {SAMPLES_FILE.fix}"
        )
    if len(records) != len(texts) or None in records:
        raise RunReadError(
            f"{path} holds no per-response records (it was written before runs logged them); "
            "analyse it with --regrade, which extracts and grades every response again with today's grader"
        )
    if any(record.correct is None for record in records):
        raise RunReadError(
            f"{path} holds ungraded records (a --predict_only run); analyse it with --regrade, "
            "which grades every response with today's grader"
        )
    return [Response.of(text, record) for text, record in zip(texts, records, strict=True)]


@functools.lru_cache(maxsize=None)
def _warn_version(path: str, version: str | None) -> None:
    """Say once per file that its records come from another task version."""
    log.warning(
        "%s was graded by task version %s, not %s as today: its recorded verdicts are kept; "
        "--regrade re-grades it with today's grader", path, version, current_version(),
    )  # fmt: skip


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
    """The rows of an lm-eval samples file, each checked as the reader checks samples rows
    (:func:`~lm_eval_math500.harness.input_files.read_samples_rows`); anything else is a
    :class:`RunReadError` naming the line and the field."""
    with _run_errors():
        return read_samples_rows(path)


@contextlib.contextmanager
def _run_errors() -> Iterator[None]:
    """The reader's errors as :class:`RunReadError`, which everything that reads a run raises."""
    try:
        yield
    except InputFileError as error:
        raise RunReadError(str(error)) from None
