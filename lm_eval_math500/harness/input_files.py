"""Every file a command reads goes through this reader, and each row is checked against a declared schema.

Replay files, samples files, results files, journals and preset files are read here and nowhere
else. Each kind declares what it holds as msgspec types (the structs below); anything that does
not fit is an :class:`InputFileError` whose message is one line, ``FILE:LINE: <field> <what is
wrong>; <what to do>`` (``FILE: ...`` for a whole file, and for a field of a JSON or YAML
document, which its path names). That covers a field missing or of another type, a line that is
not JSON or is cut short, a file that is empty, binary, not UTF-8 or a folder, and JSON nested
deeper than any real file nests. Nothing is coerced: ``"resps": "abc"`` is an error, not three
one-character responses, and ``"accuracy": "yes"`` is an error, not a right answer.

msgspec rather than pydantic: msgspec is strict by default (no type is read as another, except
an integer where a number is expected), so no schema can forget a strict-mode switch; it is one
package with no dependencies of its own; and it checks the largest files these commands read, the
samples files of sampled runs (500 problems x 64 samples, a logged record per response), fastest:
``benchmarks/input_files_speed.py`` reads such a file 1.7-2.4 times as fast as the json module with
the same checks written by hand, and 1.3-1.7 times as fast as pydantic's strict models.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import msgspec
import yaml
from msgspec import Meta, Struct

from lm_eval_math500.harness.records import Record

T = TypeVar("T")
# A file whose first bytes hold a NUL is binary, whatever its name says.
BINARY_PROBE = 8192
# The key of a journal's first line, which records what produced the journal's generations.
JOURNAL_HEAD = "journal"
NEWLINE = b"\n"
# The fields every record logged in a samples file holds (its ``str``, as the run wrote it).
RECORD_FIELDS = frozenset(Record().to_dict())


class InputFileError(ValueError):
    """A file a command reads is unusable; the message is one line that names the file, the line
    and the field, what is wrong and what to do."""


@dataclass(frozen=True)
class FileKind:
    """A kind of input file: what messages call it and what to do about a bad one.

    Attributes:
        name: what the messages call the file, e.g. ``samples file``.
        fix: what to pass instead of a file that is not one of this kind.
        line_fix: what to do about one bad line (default: ``fix``).
    """

    name: str
    fix: str
    line_fix: str = ""

    @property
    def row_fix(self) -> str:
        """What to do about one bad line or field."""
        return self.line_fix or self.fix


SAMPLES_FILE = FileKind("samples file", "pass a samples_<task>_<time>.jsonl that an lm-eval run wrote with --log_samples")
RESULTS_FILE = FileKind("results file", "pass the results_<time>.json of a finished lm-eval run, or its --output_path folder")
REPLAY_FILE = FileKind(
    "replay file",
    "pass a saved-generations JSONL as --model_args path=FILE",
    "each line of a replay file is one JSON object with a problem and its generations "
    "(`lm-eval-math500 run --help` lists the layouts it reads)",
)
JOURNAL_FILE = FileKind(
    "journal",
    "pass --journal the name of a journal file (a new name starts a new journal)",
    "delete that line and the lines after it to resume from the rest, or pass another --journal file",
)
PRESET_FILE = FileKind("preset file", "pass --preset-file a YAML preset laid out as the package's presets/*.yaml")


# ---------------------------------------------------------------- the schemas

NonEmpty = Annotated[list[str], Meta(min_length=1)]
# One list per request, one text per repeat of it.
Responses = Annotated[list[NonEmpty], Meta(min_length=1)]
# A saved generation field: one text, or one per sample.
Generations = str | list[str]


class SamplesDoc(Struct):
    """The problem a samples-file row answers, in the tasks' one schema (the fields analysis reads)."""

    problem: str
    answer: str
    unique_id: str | None = None
    subject: str | None = None
    level: int | None = None


class GenerationSettings(Struct):
    """What analysis reads of a request's generation settings."""

    max_gen_toks: int | None = None


class RequestArguments(Struct):
    """A logged request's arguments as lm-eval writes them: ``arg_0`` the prompt, ``arg_1`` the settings."""

    arg_0: str = ""
    arg_1: GenerationSettings | None = None


class SamplesRow(Struct):
    """One row of an lm-eval samples file: a problem, its responses and the filter's records of them
    (``arguments`` as a dict holds a :class:`RequestArguments` per request, checked key by key)."""

    doc_id: int
    doc: SamplesDoc
    filter: str
    resps: Responses
    filtered_resps: Responses
    arguments: dict[str, Any] | list[tuple[str, GenerationSettings]] | None = None
    metrics: list[str] = []


# A record as a samples file logs it: every field of :class:`Record` the ``str`` writes, each
# required and of the record's own type.
LoggedRecord = msgspec.defstruct(
    "LoggedRecord", [(name, typing.get_type_hints(Record)[name]) for name in Record().to_dict()]
)
_LOGGED_RECORDS = msgspec.json.Decoder(LoggedRecord)


class SavedDoc(Struct):
    """The problem of an lm-eval samples row, as the replay model reads it."""

    problem: str | None = None
    question: str | None = None


class SavedRow(Struct):
    """One line of a replay file, in any of the layouts the replay model reads: the problem from
    ``doc``, ``problem``, ``question`` or ``prompt``; the generations from ``resps`` or the first
    of :data:`GENERATION_FIELDS` it has."""

    doc: SavedDoc | None = None
    problem: str | None = None
    question: str | None = None
    prompt: str | None = None
    doc_id: int | None = None
    doc_hash: str | None = None
    task: str | None = None
    resps: list[list[str]] | None = None
    pred_text: Generations | None = None
    response: Generations | None = None
    code: Generations | None = None
    output: Generations | None = None
    generation: Generations | None = None
    journal: dict[str, Any] | None = None

    def generations(self) -> list[str] | None:
        """The row's generations in order (several for repeated sampling); None when it has none."""
        if self.resps is not None:
            return [text for group in self.resps for text in group]
        for name in GENERATION_FIELDS:
            value = getattr(self, name)
            if value is not None:
                return [value] if isinstance(value, str) else value
        return None


GENERATION_FIELDS = ("pred_text", "response", "code", "output", "generation")


class JournalIdentity(Struct, frozen=True, kw_only=True):
    """What produced a journal's generations, recorded once at its head.

    Attributes:
        backend: the lm-eval model name the journal wrapped (``vllm``, ``local-completions``, ...).
        model_args: the backend's arguments that name the model (``pretrained``, ``model``,
            ``base_url``, ...), as text.
        chat_template: ``sha256:`` and the start of the digest of the chat template the prompts
            were rendered with; ``None`` without one.
        system_instruction: the run's ``--system_instruction``.
        version: the lm-eval-math500 version that wrote the journal.
    """

    backend: str
    model_args: dict[str, str] = {}
    chat_template: str | None = None
    system_instruction: str | None = None
    version: str


class JournalHead(Struct):
    """A journal's first line."""

    journal: JournalIdentity


class JournalRow(Struct):
    """One generation kept by a journal, under its request's prompt and generation settings."""

    prompt: str
    gen_kwargs: dict[str, Any]
    response: str
    task: str | None = None
    problem: str | None = None


class ExtractionStep(Struct):
    """A filter step's arguments as the results file records them (the extraction filter's)."""

    variant: str | None = None
    style: str | None = None
    format_mode: str = "tags"
    strict: bool = False
    verdict_metric: str | None = None


class FilterEntry(Struct):
    """One entry of a task's ``filter_list``."""

    name: str
    filter: Annotated[list[ExtractionStep], Meta(min_length=1)]


class TaskMetadata(Struct):
    """The metadata keys analysis reads."""

    think_end_token: str | None = None
    tokenizer: str | None = None
    pretrained: str | None = None


class TaskConfig(Struct):
    """A task's configuration as the results file records it (the keys analysis reads)."""

    filter_list: list[FilterEntry] = []
    generation_kwargs: GenerationSettings | None = None
    repeats: int = 1
    metadata: TaskMetadata | None = None


class RunConfig(Struct):
    """The results file's ``config``: the model and its arguments."""

    model: str | None = None
    model_args: dict[str, Any] | str | None = None


class ResultsFile(Struct):
    """An lm-eval results file: aggregated values per task, each task's configuration (a
    :class:`TaskConfig`, checked task by task so that a message names the task), the model."""

    results: dict[str, dict[str, Any]]
    configs: dict[str, dict[str, Any]]
    config: RunConfig | None = None
    model_name: str | None = None


class PublishedScore(Struct):
    """One published score a preset reproduces."""

    model: str
    task: str
    metric: Annotated[str, Meta(pattern=r"^[^,]+,[^,]+$")]
    score: float
    source: str


class PresetMetadata(Struct):
    """A preset's metadata: the published scores it reproduces (its other keys go to the tasks)."""

    reproduces: list[PublishedScore] = []


class PresetFile(Struct):
    """An lm-eval ``--config`` file with the published scores it reproduces (the parts this package reads)."""

    metadata: PresetMetadata | None = None
    model_args: dict[str, Any] | str | None = None


# ---------------------------------------------------------------- reading

# msgspec's words for JSON types, as the messages say them.
_GOT = {"array": "a list", "object": "an object", "str": "a string", "int": "an integer", "float": "a fractional number",
        "bool": "a boolean", "null": "null"}  # fmt: skip
_EXPECTED = {**_GOT, "float": "a number", "bool": "true or false"}
_MISMATCH = re.compile(r"Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`")
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")
_EMPTY = re.compile(r"Expected `array` of length >= 1")
_PATTERN = re.compile(r"Expected `str` matching regex '(?P<pattern>.*)'")
_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_WHOLE = object()  # the default of Located.check: the whole value


class Located:
    """A JSON value read from a file, with where it was read, so that any check names the place."""

    def __init__(self, value: Any, where: str, kind: FileKind, subject: str) -> None:
        self.value, self.where, self.kind, self.subject = value, where, kind, subject

    def error(self, problem: str) -> InputFileError:
        """The one-line error for ``problem`` (a field and what is wrong with it) at this place."""
        return InputFileError(f"{self.where}: {problem}; {self.kind.row_fix}")

    def check(self, schema: type[T], value: Any = _WHOLE, at: str = "") -> T:
        """``value`` (default: the whole value) as ``schema``, or an :class:`InputFileError` naming
        the field (``at`` is the path of ``value`` inside the whole)."""
        try:
            return msgspec.convert(self.value if value is _WHOLE else value, schema)
        except msgspec.ValidationError as error:
            raise self.error(_mismatch(str(error), at, self.subject)) from None


def _mismatch(message: str, at: str, subject: str) -> str:
    """msgspec's validation message as ``<field> <what is wrong>``."""
    match = _AT.match(message)
    what, path = match.group("what"), f"{at}{match.group('path') or ''}".lstrip(".")
    if missing := _MISSING.fullmatch(what):
        return f"{'.'.join(filter(None, (path, missing.group('field'))))} is missing"
    field = path or subject
    if mismatch := _MISMATCH.fullmatch(what):
        names = mismatch.group("expected").split(" | ")
        # null, where a field may be null, goes unsaid: the field is missing a value of the other types
        expected = " or ".join(_EXPECTED.get(name, name) for name in [n for n in names if n != "null"] or names)
        return f"{field} is {_GOT.get(mismatch.group('got'), mismatch.group('got'))}, not {expected}"
    if _EMPTY.fullmatch(what):
        return f"{field} is an empty list"
    if pattern := _PATTERN.fullmatch(what):
        return f"{field} does not match the pattern {pattern.group('pattern')}"
    return f"{field}: {what[:1].lower()}{what[1:]}"


def _syntax(data: bytes, message: str, last: bool) -> str:
    """msgspec's decoding message as what is wrong with the text."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"the text is not UTF-8 (byte 0x{data[error.start]:02x} at column {error.start + 1})"
    if message == "Input data was truncated":
        if last:
            return "the last line is cut short (the file ends inside a JSON value)"
        return "the line is not JSON (it ends inside a value)"
    found = re.fullmatch(r"JSON is malformed: (?P<what>.*) \(byte (?P<at>\d+)\)", message)
    if found:
        return f"the line is not JSON ({found.group('what')} at column {int(found.group('at')) + 1})"
    return f"the line is not JSON ({message})"


def _document_syntax(data: bytes, message: str) -> str:
    """``LINE: what is wrong`` for a JSON document that does not decode."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        at = error.start
        problem = f"the text is not UTF-8 (byte 0x{data[at]:02x} at column {at - data.rfind(NEWLINE, 0, at)})"
    else:
        found = re.fullmatch(r"JSON is malformed: (?P<what>.*) \(byte (?P<at>\d+)\)", message)
        if not found:
            return f"{data.count(NEWLINE) + 1}: the file is cut short (it ends inside a JSON value)"
        at = int(found.group("at"))
        problem = f"not JSON ({found.group('what')} at column {at - data.rfind(NEWLINE, 0, at)})"
    return f"{data.count(NEWLINE, 0, at) + 1}: {problem}"


def _decode(data: bytes, where: str, kind: FileKind, last: bool) -> Any:
    try:
        return msgspec.json.decode(data)
    except RecursionError:
        raise InputFileError(f"{where}: the JSON is nested deeper than any {kind.name} nests; {kind.row_fix}") from None
    except msgspec.DecodeError as error:
        raise InputFileError(f"{where}: {_syntax(data, str(error), last)}; {kind.row_fix}") from None


def _checked_path(path: str | Path, kind: FileKind) -> Path:
    """``path``, if it is a readable file that is not binary."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path} does not exist; {kind.fix}")
    if path.is_dir():
        raise InputFileError(f"{path} is a folder, not a {kind.name}; {kind.fix}")
    if not path.is_file():
        raise InputFileError(f"{path} is not a regular file; {kind.fix}")
    try:
        with path.open("rb") as handle:
            head = handle.read(BINARY_PROBE)
    except OSError as error:
        raise InputFileError(f"cannot read {path} ({error.strerror}); {kind.fix}") from None
    if b"\0" in head:
        raise InputFileError(f"{path} is binary, not a {kind.name}; {kind.fix}")
    return path


def read_lines(path: str | Path, kind: FileKind, allow_empty: bool = False, skip_torn: bool = False) -> Iterator[Located]:
    """Each non-blank line of the JSONL file ``path``, decoded, with its place (``FILE:LINE``).

    A file with no line is an error unless ``allow_empty``; with ``skip_torn`` a last line that
    no newline ends (a writer killed in the middle of it) is passed over.
    """
    path = _checked_path(path, kind)
    read = 0
    with path.open("rb") as handle:
        for number, data in enumerate(handle, start=1):
            last = not data.endswith(NEWLINE)
            if not data.strip() or (last and skip_torn):
                continue
            where = f"{path}:{number}"
            read += 1
            yield Located(_decode(data, where, kind, last), where, kind, "the line")
    if not read and not allow_empty:
        raise InputFileError(f"{path} is empty; {kind.fix}")


def read_json(path: str | Path, kind: FileKind) -> Located:
    """The JSON document ``path``, decoded; a syntax error names its line."""
    path = _checked_path(path, kind)
    data = path.read_bytes()
    if not data.strip():
        raise InputFileError(f"{path} is empty; {kind.fix}")
    try:
        value = msgspec.json.decode(data)
    except RecursionError:
        raise InputFileError(f"{path}: the JSON is nested deeper than any {kind.name} nests; {kind.fix}") from None
    except msgspec.DecodeError as error:
        raise InputFileError(f"{path}:{_document_syntax(data, str(error))}; {kind.fix}") from None
    return Located(value, str(path), kind, "the file")


def read_yaml(path: str | Path, kind: FileKind) -> Located:
    """The YAML document ``path`` (read with YAML's safe loader); a syntax error names its line."""
    path = _checked_path(path, kind)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputFileError(f"{path}: the text is not UTF-8 (byte at offset {error.start}); {kind.fix}") from None
    try:
        value = yaml.safe_load(text)
    except RecursionError:
        raise InputFileError(f"{path}: the YAML is nested deeper than any {kind.name} nests; {kind.fix}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or "not YAML"
        raise InputFileError(f"{where}: the file is not YAML ({problem}); {kind.fix}") from None
    if value is None:
        raise InputFileError(f"{path} is empty; {kind.fix}")
    return Located(value, str(path), kind, "the file")


# ---------------------------------------------------------------- each kind


def read_samples_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of an lm-eval samples file, each checked against :class:`SamplesRow`: its metric
    values numbers, and every record it logged a :data:`LoggedRecord` (a filtered response that is
    no record, a bare extracted answer as files written before records hold, is left as it is)."""
    rows = []
    for line in read_lines(path, SAMPLES_FILE):
        row = line.check(SamplesRow)
        if isinstance(row.arguments, dict):
            for key, arguments in row.arguments.items():
                line.check(RequestArguments, arguments, at=f".arguments.{key}")
        for name in dict.fromkeys([*row.metrics, "accuracy", "answer_reward"]):
            if name in line.value:
                line.check(float, line.value[name], at=f".{name}")
        for i, group in enumerate(row.filtered_resps):
            checked: set[str] = set()
            for j, text in enumerate(group):
                if text not in checked and text.startswith("{"):
                    _check_record(line, text, f".filtered_resps[{i}][{j}]")
                    checked.add(text)
        rows.append(line.value)
    return rows


def _check_record(line: Located, text: str, at: str) -> None:
    """Raise the line's error when ``text`` is a record (a JSON object with a record's fields) that
    lacks one or has one of the wrong type."""
    try:
        _LOGGED_RECORDS.decode(text)
    except msgspec.ValidationError as error:  # JSON, but no whole record of the right types
        value = msgspec.json.decode(text)
        if isinstance(value, dict) and RECORD_FIELDS & set(value):
            raise line.error(_mismatch(str(error), at, "")) from None
    except (msgspec.DecodeError, RecursionError):
        return  # not JSON: a bare extracted answer such as {1, 2}


def read_saved_rows(path: str | Path) -> Iterator[tuple[Located, SavedRow]]:
    """The lines of a replay file, each checked against :class:`SavedRow` (a journal's head skipped)."""
    for line in read_lines(path, REPLAY_FILE):
        row = line.check(SavedRow)
        if row.journal is None:
            yield line, row


def read_journal(path: str | Path) -> tuple[JournalIdentity | None, list[JournalRow]]:
    """A journal's identity (None when its first line records none) and its generations; a last
    line a killed run left unfinished is passed over."""
    identity, rows = None, []
    for index, line in enumerate(read_lines(path, JOURNAL_FILE, allow_empty=True, skip_torn=True)):
        if index == 0 and isinstance(line.value, dict) and JOURNAL_HEAD in line.value:
            identity = line.check(JournalHead).journal
        else:
            rows.append(line.check(JournalRow))
    return identity, rows


def read_results(path: str | Path) -> dict[str, Any]:
    """An lm-eval results file, checked against :class:`ResultsFile`: every ``"metric,filter"``
    value a number, or ``"N/A"`` (lm-eval's standard error when it skipped the bootstrap)."""
    document = read_json(path, RESULTS_FILE)
    document.check(ResultsFile)
    for task, config in document.value["configs"].items():
        document.check(TaskConfig, config, at=f".configs.{task}")
    for task, values in document.value["results"].items():
        for key, value in values.items():
            if "," in key and value != "N/A":
                document.check(float, value, at=f".results.{task}.{key}")
    return document.value


def read_preset(path: str | Path) -> tuple[dict[str, Any], PresetFile]:
    """A preset YAML file: its whole configuration, and the parts this package reads, checked."""
    document = read_yaml(path, PRESET_FILE)
    return document.value, document.check(PresetFile)
