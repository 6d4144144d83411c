"""Every subcommand fed malformed inputs: each ends with exit 2 and one line, and writes nothing outside
its output folder.

The inputs are made here from valid files (a real run's results and samples files, a replay file,
a journal, a shipped preset): each file made bad as a whole (not UTF-8, binary, empty, its last
line cut short, JSON nested 100,000 deep, a list where an object belongs, a folder or a missing path
in its place), and each field its kind declares left out or given each JSON type it must not have.
Outputs that cannot be written (a folder where a file goes, a path below a file) are tried too.
Every command runs in this process through ``main()``: ``run`` checks its files before lm-eval
loads anything, so it does too. Each test prints its row of the table: inputs tried, all clean.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from lm_eval_math500.analysis.reproduce import load_preset
from lm_eval_math500.cli import main
from lm_eval_math500.harness.journal import check_journal, package_version
from lm_eval_math500.harness.replay import check_arguments

# Every test starts from the valid inputs the module's fixture makes once (from a run it replays), on
# one xdist worker, and throws hundreds of damaged files at the commands: slow.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cli_fuzz")]

PROG = "lm-eval-math500"
TASK = "math500_r1zero"
FOLDER, ABSENT = "a folder in its place", "a missing path"
# Values of every JSON type, by what they are; a field is given each one its kind does not allow.
WRONG: dict[str, Any] = {
    "a string": "abc", "an integer": 7, "a fraction": 1.5, "true": True, "null": None, "an empty list": [],
    "an empty object": {}, "a list of strings": ["abc"], "a list of lists of integers": [[7]],
}  # fmt: skip


def _texts(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(g, list) and g and all(isinstance(t, str) for t in g) for g in value)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# What a field must be, as a test of a JSON value; "?" also allows null.
ACCEPTS: dict[str, Callable[[Any], bool]] = {
    "int": _int,
    "int?": lambda v: v is None or _int(v),
    "str": lambda v: isinstance(v, str),
    "str?": lambda v: v is None or isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "bool?": lambda v: v is None or isinstance(v, bool),
    "number": lambda v: _int(v) or isinstance(v, float),
    "object": lambda v: isinstance(v, dict),
    "object?": lambda v: v is None or isinstance(v, dict),
    "object|str?": lambda v: v is None or isinstance(v, (dict, str)),
    "list": lambda v: isinstance(v, list),
    "objects": lambda v: isinstance(v, list) and bool(v) and all(isinstance(i, dict) for i in v),
    "texts": _texts,
    "lists of texts?": lambda v: v is None or (isinstance(v, list) and all(isinstance(g, list) and all(isinstance(t, str) for t in g) for g in v)),
    "generations?": lambda v: v is None or isinstance(v, str) or (isinstance(v, list) and all(isinstance(t, str) for t in v)),
    "texts by name": lambda v: isinstance(v, dict) and all(isinstance(t, str) for t in v.values()),
    "metric,filter": lambda v: isinstance(v, str) and v.count(",") == 1 and all(v.split(",")),
    "problem doc": lambda v: isinstance(v, dict) and all(isinstance(v.get(k), str) for k in ("problem", "answer")),
    "published score": lambda v: False,  # every value of the pool lacks its five fields
    "identity": lambda v: isinstance(v, dict) and all(isinstance(v.get(k), str) for k in ("backend", "version")),
}

Path_ = tuple[Any, ...]  # keys and indices into a JSON value; "@name" is a field of a record logged as a JSON string

# The fields of each kind of file (a path into its first row, or into the document) and what each must be.
SAMPLES_FIELDS: dict[Path_, str] = {
    ("doc_id",): "int", ("doc",): "problem doc", ("doc", "problem"): "str", ("doc", "answer"): "str",
    ("doc", "level"): "int?", ("doc", "subject"): "str?", ("doc", "unique_id"): "str?", ("filter",): "str",
    ("resps",): "texts", ("filtered_resps",): "texts", ("accuracy",): "number", ("answer_reward",): "number",
    ("arguments", "gen_args_0", "arg_0"): "str", ("arguments", "gen_args_0", "arg_1", "max_gen_toks"): "int?",
    ("filtered_resps", 0, 0, "@answer"): "str?", ("filtered_resps", 0, 0, "@format_ok"): "bool",
    ("filtered_resps", 0, 0, "@correct"): "bool?", ("filtered_resps", 0, 0, "@verdict"): "bool?",
    ("filtered_resps", 0, 0, "@tokens"): "int?", ("filtered_resps", 0, 0, "@reason"): "str?",
    ("filtered_resps", 0, 0, "@unfinished"): "bool",
}  # fmt: skip
SAMPLES_REQUIRED = {
    ("doc_id",), ("doc",), ("doc", "problem"), ("doc", "answer"), ("filter",), ("resps",), ("filtered_resps",),
    *(path for path in SAMPLES_FIELDS if str(path[-1]).startswith("@")),  # a record without a field is no record
}  # fmt: skip
RESULTS_FIELDS: dict[Path_, str] = {
    ("results",): "object", ("results", TASK): "object", ("results", TASK, "accuracy,tags"): "number",
    ("configs",): "object", ("configs", TASK): "object", ("configs", TASK, "filter_list"): "list",
    ("configs", TASK, "filter_list", 0, "name"): "str", ("configs", TASK, "filter_list", 0, "filter"): "objects",
    ("configs", TASK, "filter_list", 0, "filter", 0, "variant"): "str?",
    ("configs", TASK, "filter_list", 0, "filter", 0, "strict"): "bool",
    ("configs", TASK, "generation_kwargs", "max_gen_toks"): "int?", ("configs", TASK, "repeats"): "int",
    ("configs", TASK, "metadata"): "object?", ("configs", TASK, "metadata", "pretrained"): "str?",
    ("config",): "object?", ("config", "model"): "str?", ("config", "model_args"): "object|str?", ("model_name",): "str?",
}  # fmt: skip
RESULTS_REQUIRED = {("results",), ("configs",), ("configs", TASK, "filter_list", 0, "name")}
REPLAY_FIELDS: dict[Path_, str] = {
    ("problem",): "str?", ("question",): "str?", ("prompt",): "str?", ("doc",): "object?", ("doc", "problem"): "str?",
    ("doc_id",): "int?", ("doc_hash",): "str?", ("task",): "str?", ("resps",): "lists of texts?",
    ("response",): "generations?", ("code",): "generations?", ("pred_text",): "generations?",
}  # fmt: skip
REPLAY_REQUIRED = {("response",)}  # the generations: without them the line has none
JOURNAL_FIELDS: dict[Path_, str] = {
    ("journal",): "identity", ("journal", "backend"): "str", ("journal", "version"): "str",
    ("journal", "model_args"): "texts by name", ("journal", "chat_template"): "str?",
    ("journal", "system_instruction"): "str?",
}  # fmt: skip
JOURNAL_ROW_FIELDS: dict[Path_, str] = {("prompt",): "str", ("gen_kwargs",): "object", ("response",): "str", ("task",): "str?", ("problem",): "str?"}
JOURNAL_REQUIRED = {("journal", "backend"), ("journal", "version"), ("prompt",), ("gen_kwargs",), ("response",)}
PRESET_FIELDS: dict[Path_, str] = {
    ("metadata",): "object?", ("metadata", "reproduces"): "list", ("metadata", "reproduces", 0): "published score",
    **{("metadata", "reproduces", 0, key): "str" for key in ("model", "task", "source")},
    ("metadata", "reproduces", 0, "metric"): "metric,filter", ("metadata", "reproduces", 0, "score"): "number",
    ("model_args",): "object|str?",
}  # fmt: skip
PRESET_REQUIRED = {("metadata", "reproduces", 0, key) for key in ("model", "task", "metric", "score", "source")}


def _changed(value: Any, path: Path_, new: Any, delete: bool = False) -> Any:
    """A copy of ``value`` with the field at ``path`` set to ``new`` (or deleted)."""
    value = copy.deepcopy(value)
    *parents, last = path
    holder = value
    for key in parents:
        holder = holder[key]
    if isinstance(last, str) and last.startswith("@"):  # a field of the record held as a JSON string
        *outer, index = parents
        record = json.loads(holder)
        record.pop(last[1:]) if delete else record.__setitem__(last[1:], new)
        container = value
        for key in outer:
            container = container[key]
        container[index] = json.dumps(record)
        return value
    if delete:
        del holder[last]
    else:
        holder[last] = new
    return value


def field_cases(document: Any, fields: dict[Path_, str], required: set[Path_]) -> Iterator[tuple[str, Any]]:
    """``document`` with each field left out (where it is required) or given each value it must not have."""
    for path, spec in fields.items():
        name = ".".join(str(key) for key in path)
        if path in required:
            yield f"{name} missing", _changed(document, path, None, delete=True)
        for label, value in WRONG.items():
            if not ACCEPTS[spec](value):
                yield f"{name} {label}", _changed(document, path, value)


def whole_file_cases(valid: bytes, yaml_file: bool = False) -> Iterator[tuple[str, bytes | str]]:
    """The file made bad as a whole."""
    noise = random.Random(0)
    yield "not UTF-8", valid.replace(b'"', b'"\xff\xfe', 1) if not yaml_file else b"\xff\xfe" + valid
    yield "binary", bytes([0, 1, 2, 255]) + bytes(noise.randrange(256) for _ in range(4096))
    yield "empty", b""
    yield "last line cut short", valid.rstrip(b"\n")[:-7]
    yield "nested 100,000 deep", b"[" * 100_000 + b"\n"
    yield "a list, not an object", b"- 1\n" if yaml_file else b"[1, 2]\n"
    yield FOLDER, FOLDER
    yield ABSENT, ABSENT


def jsonl(rows: list[Any]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


@dataclass(frozen=True)
class Case:
    """One malformed input: what it is, and how it is laid out in a fresh sandbox for a command.

    Attributes:
        label: what is wrong, for the table and the failure message.
        prepare: lays the inputs out in the sandbox and returns the command's arguments; the
            sandbox's ``out`` folder is the only place the command may write.
    """

    label: str
    prepare: Callable[[Path], list[str]]


@dataclass
class Outcome:
    """What a command did with one case: its exit status, standard error and the files it wrote."""

    code: int | None
    err: str
    written: set[str]


def put(path: Path, content: bytes | str) -> Path:
    """Write ``content`` at ``path``, or make ``path`` a folder (:data:`FOLDER`) or leave it absent."""
    if content == FOLDER:
        path.mkdir(parents=True)
    elif content != ABSENT:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return path


def files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def run_case(case: Case, sandbox: Path) -> Outcome:
    """Run the command of ``case`` in this process, in its own sandbox."""
    sandbox.mkdir()
    argv = case.prepare(sandbox)
    before = files(sandbox)
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            main(argv)
            code = 0
        except SystemExit as exit_:
            code = exit_.code
    after = files(sandbox)
    return Outcome(code, err.getvalue(), {name for name, mtime in after.items() if before.get(name) != mtime})


def problems_of(outcome: Outcome) -> list[str]:
    """What is wrong with how a command ended on a malformed input (nothing, when it ended cleanly)."""
    found = []
    lines = [line for line in outcome.err.splitlines() if line.strip()]
    if outcome.code != 2:
        found.append(f"exit {outcome.code}")
    if "Traceback" in outcome.err:
        found.append("a traceback")
    if len(lines) != 1 or not lines[0].startswith(f"{PROG}: error: "):
        found.append(f"stderr {outcome.err[-500:]!r}")
    outside = sorted(name for name in outcome.written if not name.startswith("out/"))
    if outside:
        found.append(f"wrote {outside}")
    return found


def fuzz(command: str, cases: list[Case], tmp_path: Path) -> None:
    """Run every case; fail naming each one that did not end cleanly; print the command's table row."""
    failures = []
    for index, case in enumerate(cases):
        found = problems_of(run_case(case, tmp_path / f"case{index}"))
        if found:
            failures.append(f"{case.label}: {'; '.join(found)}")
    print(f"\n| {command} | {len(cases)} | {len(cases) - len(failures)} |")
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------- the valid files the cases start from


@dataclass(frozen=True)
class Valid:
    """The valid files every case starts from."""

    results: Path
    samples: Path
    replay: bytes
    journal: list[Any]
    preset: Any


@pytest.fixture(scope="module")
def valid(small_run: Path, tmp_path_factory) -> Valid:
    (results,) = small_run.rglob("results_*.json")
    (samples,) = small_run.rglob("samples_*.jsonl")
    rows = [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines()]
    replay = jsonl(
        [{"doc_id": row["doc_id"], "doc_hash": row["doc_hash"], "doc": row["doc"], "problem": row["doc"]["problem"],
          "task": TASK, "response": row["resps"][0][0]} for row in rows]
    )  # fmt: skip
    head = {"journal": {"backend": "replay", "model_args": {}, "chat_template": None, "system_instruction": None, "version": package_version()}}
    journal = [head, {"task": TASK, "problem": rows[0]["doc"]["problem"], "prompt": "p", "gen_kwargs": {"until": []}, "response": "r"}]
    folder = tmp_path_factory.mktemp("valid")
    # The valid files are valid: the cases' errors are the changes' own.
    check_arguments({"path": str(put(folder / "replay.jsonl", replay))})
    check_journal({"backend": "replay", "journal": str(put(folder / "journal.jsonl", jsonl(journal)))})
    preset = yaml.safe_load(load_preset("cs336_r1zero").path.read_text(encoding="utf-8"))
    return Valid(results, samples, replay, journal, preset)


def run_folder(valid: Valid, sandbox: Path, results: bytes | str | None = None, samples: bytes | str | None = None) -> Path:
    """A copy of the run in ``sandbox/run``, with its results or samples file replaced."""
    folder = sandbox / "run"
    folder.mkdir()
    put(folder / valid.results.name, results if results is not None else valid.results.read_bytes())
    put(folder / valid.samples.name, samples if samples is not None else valid.samples.read_bytes())
    return folder


def samples_contents(valid: Valid) -> Iterator[tuple[str, bytes | str]]:
    """Every malformed samples file: whole, and its first row's fields."""
    text = valid.samples.read_bytes()
    yield from (("samples " + label, content) for label, content in whole_file_cases(text))
    first, *rest = [json.loads(line) for line in text.decode().splitlines()]
    for label, row in field_cases(first, SAMPLES_FIELDS, SAMPLES_REQUIRED):
        yield f"samples {label}", jsonl([row, *rest])


def results_contents(valid: Valid) -> Iterator[tuple[str, bytes | str]]:
    """Every malformed results file: whole, and each field analysis reads."""
    text = valid.results.read_bytes()
    yield from (("results " + label, content) for label, content in whole_file_cases(text))
    for label, document in field_cases(json.loads(text), RESULTS_FIELDS, RESULTS_REQUIRED):
        yield f"results {label}", json.dumps(document, indent=2).encode()


def run_cases(valid: Valid, command: Callable[[Path, Path], list[str]]) -> list[Case]:
    """A case for each malformed samples file and results file of a run, read by ``command(run, out)``."""
    cases = []
    for label, content in samples_contents(valid):
        cases.append(Case(label, lambda box, c=content: command(run_folder(valid, box, samples=c), box / "out")))
    for label, content in results_contents(valid):
        cases.append(Case(label, lambda box, c=content: command(run_folder(valid, box, results=c) / valid.results.name, box / "out")))
    return cases


def unwritable(make: Callable[[Path, Path], list[str]], folder_output: bool = False, suffix: str = "") -> list[Case]:
    """Outputs that cannot be written: ``make(sandbox, place)`` gives the arguments for writing at
    ``place``, inside ``out``: a file where the output folder goes (``folder_output``) or a folder
    where the output file goes, and a path below a file. ``suffix`` ends the output's name."""

    def taken(box: Path) -> list[str]:
        place = box / "out" / f"taken{suffix}"
        put(place, b"x" if folder_output else FOLDER)
        return make(box, place)

    def below_a_file(box: Path) -> list[str]:
        put(box / "out" / "a_file", b"x")
        return make(box, box / "out" / "a_file" / f"inside{suffix}")

    what = "a file where the output folder goes" if folder_output else "a folder where the output file goes"
    return [Case(f"output: {what}", taken), Case("output: a path below a file", below_a_file)]


# ---------------------------------------------------------------- one test per subcommand


def test_export(valid, tmp_path):
    cases = [
        Case(label, lambda box, c=content: ["export", str(put(box / "samples_x_2026.jsonl", c)), "-o", str(box / "out" / "rows.jsonl")])
        for label, content in samples_contents(valid)
    ]
    cases += unwritable(lambda box, place: ["export", str(run_folder(valid, box) / valid.samples.name), "-o", str(place)])
    fuzz("export", cases, tmp_path)


def test_report(valid, tmp_path):
    cases = run_cases(valid, lambda run, out: ["report", str(run), "--out", str(out)])
    cases += unwritable(lambda box, place: ["report", str(run_folder(valid, box)), "--out", str(place)], folder_output=True)
    fuzz("report", cases, tmp_path)


def test_compare(valid, tmp_path):
    def compare(run: Path, out: Path) -> list[str]:
        other = put(out.parent / "other" / valid.results.name, valid.results.read_bytes())
        put(other.parent / valid.samples.name, valid.samples.read_bytes())
        return ["compare", str(run), str(other.parent), "--out", str(out / "pairs.jsonl"), "--plot", str(out / "compare.png")]

    cases = run_cases(valid, compare)
    cases += unwritable(lambda box, place: ["compare", str(run_folder(valid, box)), str(box / "run"), "--out", str(place), "--plot", str(box / "out" / "c.png")])
    cases += unwritable(lambda box, place: ["compare", str(run_folder(valid, box)), str(box / "run"), "--plot", str(place)], suffix=".png")
    fuzz("compare", cases, tmp_path)


def test_reproduce(valid, tmp_path):
    cases = run_cases(valid, lambda run, out: ["reproduce", "cs336_r1zero", "--compare", str(run)])

    def preset_file(content: bytes | str) -> Callable[[Path], list[str]]:
        return lambda box: ["reproduce", "--preset-file", str(put(box / "mine.yaml", content)), "--model_args", "pretrained=x", "--dry-run"]

    text = yaml.safe_dump(valid.preset, sort_keys=False).encode()
    cases += [Case(f"preset {label}", preset_file(content)) for label, content in whole_file_cases(text, yaml_file=True)]
    cases += [
        Case(f"preset {label}", preset_file(yaml.safe_dump(document, sort_keys=False).encode()))
        for label, document in field_cases(valid.preset, PRESET_FIELDS, PRESET_REQUIRED)
    ]
    for name in ("../../presets/cs336_r1zero", "/etc/passwd", "cs336_r1zero.yaml", ".."):
        cases.append(Case(f"preset name {name}", lambda box, n=name: ["reproduce", n, "--model_args", "pretrained=x", "--dry-run"]))
    for metadata in ("{not json", "[1]", '"text"', "7", "[" * 100_000):
        cases.append(Case(f"--metadata {metadata[:12]}", lambda box, m=metadata: ["reproduce", "cs336_r1zero", "--model_args", "pretrained=x", "--metadata", m, "--dry-run"]))
    cases += unwritable(lambda box, place: ["reproduce", "cs336_r1zero", "--model_args", "pretrained=x", "--output_path", str(place)], folder_output=True)
    fuzz("reproduce", cases, tmp_path)


def test_run(valid, tmp_path, shared_data):
    def replay(content: bytes | str, *extra: str) -> Callable[[Path], list[str]]:
        def argv(box: Path) -> list[str]:
            path = put(box / "saved.jsonl", content)
            return ["run", "--model", "replay", "--model_args", f"path={path}", "--tasks", TASK, "--output_path", str(box / "out"), *extra]

        return argv

    def journal(content: bytes | str) -> Callable[[Path], list[str]]:
        def argv(box: Path) -> list[str]:
            path = put(box / "out" / "run.journal.jsonl", content)
            return [*replay(valid.replay)(box), "--journal", str(path)]

        return argv

    first, *rest = [json.loads(line) for line in valid.replay.decode().splitlines()]
    cases = [Case(f"replay {label}", replay(content)) for label, content in whole_file_cases(valid.replay)]
    cases += [Case(f"replay {label}", replay(jsonl([row, *rest]))) for label, row in field_cases(first, REPLAY_FIELDS, REPLAY_REQUIRED)]
    cases.append(Case("replay line without a problem", replay(jsonl([{"response": "x"}]))))
    cases.append(Case("replay model=..", replay(valid.replay, "--model_args", "model=..")))
    # A journal that is empty, missing or ends in a torn line is no error: it starts or resumes a run.
    journal_wholes = [(label, content) for label, content in whole_file_cases(jsonl(valid.journal)) if label not in ("empty", ABSENT, "last line cut short")]
    cases += [Case(f"journal {label}", journal(content)) for label, content in journal_wholes]
    head, row = valid.journal
    cases += [Case(f"journal head {label}", journal(jsonl([changed, row]))) for label, changed in field_cases(head, JOURNAL_FIELDS, JOURNAL_REQUIRED)]
    cases += [Case(f"journal row {label}", journal(jsonl([head, changed]))) for label, changed in field_cases(row, JOURNAL_ROW_FIELDS, JOURNAL_REQUIRED)]
    cases += unwritable(lambda box, place: replay(valid.replay)(box)[:-2] + ["--output_path", str(place)], folder_output=True)
    fuzz("run", cases, tmp_path)


def test_grade(tmp_path):
    cases = [
        Case("--response-file a folder", lambda box: ["grade", "--gold", "1", "--response-file", str(put(box / "response", FOLDER))]),
        Case("--response-file missing", lambda box: ["grade", "--gold", "1", "--response-file", str(box / "response")]),
        Case("an unknown flag", lambda box: ["grade", "--gold", "1", "--response-fil", "x"]),
        Case("tasks-dir with an argument", lambda box: ["tasks-dir", "extra"]),
    ]
    fuzz("grade, tasks-dir", cases, tmp_path)


def test_the_inputs_the_cases_start_from_are_valid(valid, tmp_path):
    """Unchanged, the files every case starts from go through each command: the cases' errors are their changes'."""
    preset = put(tmp_path / "mine.yaml", yaml.safe_dump(valid.preset, sort_keys=False).encode())
    commands = {
        "export": lambda run, out: ["export", str(run / valid.samples.name), "-o", str(put(out, FOLDER) / "rows.jsonl")],
        "report": lambda run, out: ["report", str(run), "--out", str(out)],
        "compare": lambda run, out: ["compare", str(run), str(run), "--out", str(out / "pairs.jsonl"), "--plot", str(out / "c.png")],
        "reproduce --compare": lambda run, out: ["reproduce", "cs336_r1zero", "--compare", str(run)],
        "reproduce --preset-file": lambda run, out: ["reproduce", "--preset-file", str(preset), "--model_args", "pretrained=x", "--dry-run"],
    }
    for name, command in commands.items():
        outcome = run_case(Case(name, lambda box, c=command: c(run_folder(valid, box), box / "out")), tmp_path / name.replace(" ", "_"))
        assert outcome.code == 0, (name, outcome.err[-2000:])
        assert all(written.startswith("out/") for written in outcome.written), (name, outcome.written)
