"""What a new user meets at the command line: one-line errors for bad inputs, help, long responses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lm_eval_math500.harness.records import Record

PROG = "lm-eval-math500"
# lm-eval's own progress log lines ("2026-12-01:22:46:52 INFO ..."), which a run prints before failing.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d:\d\d:\d\d:\d\d (DEBUG|INFO|WARNING) ")
ONE_PROBLEM = "Convert the point $(0,3)$ in rectangular coordinates to polar coordinates."


def run_cli(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from lm_eval_math500.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=stdin,
    )


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one line a failed command printed besides lm-eval's progress log; fails if there are more."""
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and not LOG_LINE.match(line)]
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A folder of bad (and one good) inputs."""
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "bad_line.jsonl").write_text(
        json.dumps({"problem": ONE_PROBLEM, "response": "\\boxed{(3, \\frac{\\pi}{2})}"}) + "\n{not json\n"
    )
    (folder / "saved.jsonl").write_text(json.dumps({"problem": ONE_PROBLEM, "response": "\\boxed{1}"}) + "\n")
    (folder / "results.json").write_text(json.dumps({"results": {}}, indent=2))
    (folder / "empty.jsonl").write_text("")
    return folder


# (arguments, what the one line must say); INPUTS is replaced by the inputs folder.
RUN_ERRORS = [
    (
        ["--model_args", "path=INPUTS/missing.jsonl"],
        "replay file INPUTS/missing.jsonl does not exist; pass a saved-generations JSONL as --model_args path=FILE",
    ),
    (
        ["--model_args", "path=INPUTS/bad_line.jsonl"],
        "INPUTS/bad_line.jsonl:2: the line is not JSON (object keys must be strings at column 2); each line of a replay file "
        "is one JSON object with a problem and its generations (`lm-eval-math500 run --help` lists the layouts it reads)",
    ),
    (
        ["--model_args", "path=INPUTS/empty.jsonl"],
        "INPUTS/empty.jsonl is empty; pass a saved-generations JSONL as --model_args path=FILE",
    ),
    (
        ["--model_args", "path=INPUTS"],
        "INPUTS is a folder, not a replay file; pass a saved-generations JSONL as --model_args path=FILE",
    ),
    (
        ["--model_args", "path=INPUTS/saved.jsonl,model=.."],
        "the replay model= name '..' cannot be a file name; rename it to letters, digits, '_', '-' or '.'",
    ),
    (
        ["--model_args", "pth=INPUTS/saved.jsonl"],
        "unknown replay argument 'pth' (did you mean 'path'?); the replay model takes path, keep_stop, model, only_saved",
    ),
    (
        ["--model_args", "path=INPUTS/saved.jsonl,keep_stopp=True"],
        "unknown replay argument 'keep_stopp' (did you mean 'keep_stop'?); "
        "the replay model takes path, keep_stop, model, only_saved",
    ),
    (["--model_args", "keep_stop=True"], "the replay model needs a file: --model_args path=FILE"),
    (["--model_args", "path=INPUTS/saved.jsonl,keep_stop=maybe"], "keep_stop takes True or False, not 'maybe'"),
    (["--model_args", "path=INPUTS/saved.jsonl,only_saved=maybe"], "only_saved takes True or False, not 'maybe'"),
    (
        ["--model_args", "path=INPUTS/results.json"],
        "INPUTS/results.json is an lm-eval results file (the scores), not saved generations; pass the "
        "samples_<task>_<time>.jsonl beside it, which a run writes with --log_samples",
    ),
]


@pytest.mark.parametrize(("args", "expected"), RUN_ERRORS)
def test_bad_replay_input_is_one_line(inputs, args, expected):
    args = [arg.replace("INPUTS", str(inputs)) for arg in args]
    result = run_cli("run", "--model", "replay", *args, "--tasks", "math500_r1zero", "--limit", "1")
    assert error_line(result) == f"{PROG}: error: " + expected.replace("INPUTS", str(inputs))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--metadata", '{"gold_erata": true}'],
            "unknown metadata key 'gold_erata' (did you mean 'gold_errata'?); these tasks take data_dir, "
            "deepthink_prefill, boxed_instruction, gold_errata, repeats, tokenizer",
        ),
        (
            ["--metadata", '{"errata": true}'],
            "unknown metadata key 'errata' (did you mean 'gold_errata'?); these tasks take data_dir, "
            "deepthink_prefill, boxed_instruction, gold_errata, repeats, tokenizer",
        ),
        (
            ["--metadata", '{"data_dir": "x", "seed": 3}'],
            "unknown metadata key 'seed'; these tasks take data_dir, deepthink_prefill, boxed_instruction, "
            "gold_errata, repeats, tokenizer",
        ),
        (["--metadata", '{"gold_errata": "yes"}'], "metadata gold_errata takes true or false, not 'yes'"),
        (["--repeats", "0"], "--repeats takes a number of samples per problem, at least 1, not 0"),
        (
            ["--wandb_args", "project=x"],
            f'--wandb_args: {PROG} run does not log to Weights & Biases; run the tasks with lm-eval run '
            f'--include_path "$({PROG} tasks-dir)" for that',
        ),
    ],
)
def test_bad_run_options_are_one_line(inputs, args, expected):
    result = run_cli(
        "run", "--model", "replay", "--model_args", f"path={inputs}/saved.jsonl", "--tasks", "math500_boxed",
        "--limit", "1", *args,
    )  # fmt: skip
    assert error_line(result) == f"{PROG}: error: {expected}"


def test_an_lm_eval_the_run_command_was_not_checked_against_stops_it_with_one_line(monkeypatch, capsys):
    from lm_eval_math500.cli import main
    from lm_eval_math500.harness import lm_eval_compat

    monkeypatch.setattr(lm_eval_compat, "lm_eval_version", lambda: "0.4.99")
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--model", "replay", "--tasks", "math500_boxed"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        f"{PROG}: error: `{PROG} run` is off: it reads lm-eval's own run options, checked against lm-eval "
        f"{', '.join(lm_eval_compat.CHECKED_VERSIONS)}, and lm-eval 0.4.99 is installed; run the tasks with "
        f"`lm-eval run --include_path $({PROG} tasks-dir)` instead\n"
    )


def test_unknown_task_suggests_the_nearest_names(inputs):
    saved = f"path={inputs}/saved.jsonl"
    result = run_cli("run", "--model", "replay", "--model_args", saved, "--tasks", "math500_r1zeroo")
    assert error_line(result) == (
        f"{PROG}: error: task 'math500_r1zeroo' not found; "
        "did you mean math500_r1zero, math500_boxed, math500_all?"
    )


@pytest.fixture(scope="module")
def first_two(shared_data) -> list[dict]:
    """The first two MATH-500 problems as the shared data folder holds them."""
    lines = (shared_data / "math500" / "test.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:2]]


# (--model_args after path=FILE, more run arguments, the one line); FILE holds one generation for the
# first MATH-500 problem only; FIRST and SECOND stand for the first two problems' "ID ('text')".
SAVED_PROBLEM_ERRORS = [
    (
        ",only_saved=true", ["--tasks", "math500_boxed", "--repeats", "3"],
        "FILE has 1 generation(s) for FIRST and task math500_boxed needs 3 (one per repeat); "
        "pass --repeats 1, which every problem of the run has",
    ),
    (
        "", ["--tasks", "math500_boxed", "--limit", "2"],
        "FILE has no generation for SECOND of task math500_boxed; add only_saved=true to --model_args to run "
        "only the problems the file holds",
    ),
    (
        ",only_saved=true", ["--tasks", "math500_boxed,gsm8k_boxed"],
        "FILE holds none of the problems of task gsm8k_boxed; leave gsm8k_boxed out of --tasks, "
        "or replay a file of its problems",
    ),
    (
        ",only_saved=true", ["--tasks", "math500_boxed", "--samples", '{"math500_boxed": [0]}'],
        "only_saved=true takes the problems from the replay file; drop --samples, or drop only_saved "
        "to run the problems --samples names",
    ),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(("model_args", "args", "expected"), SAVED_PROBLEM_ERRORS)
def test_a_replay_file_short_of_the_runs_problems_names_the_fix(tmp_path, shared_data, first_two, model_args, args, expected):
    saved = tmp_path / "saved.jsonl"
    saved.write_text(json.dumps({"problem": first_two[0]["problem"], "response": "\\boxed{1}"}) + "\n")
    result = run_cli(
        "run", "--model", "replay", "--model_args", f"path={saved}{model_args}",
        "--metadata", json.dumps({"data_dir": str(shared_data)}), *args,
    )  # fmt: skip
    first, second = (f"{doc['unique_id']} ({doc['problem'][:80]!r})" for doc in first_two)
    expected = expected.replace("FILE", str(saved)).replace("FIRST", first).replace("SECOND", second)
    assert error_line(result) == f"{PROG}: error: {expected}"


EXPORT_ERRORS = [
    (
        "missing.jsonl",
        "INPUTS/missing.jsonl does not exist; "
        "pass a samples_<task>_<time>.jsonl that an lm-eval run wrote with --log_samples",
    ),
    (
        "results.json",
        "INPUTS/results.json:1: the line is not JSON (it ends inside a value); "
        "pass a samples_<task>_<time>.jsonl that an lm-eval run wrote with --log_samples",
    ),
    (
        "saved.jsonl",
        "INPUTS/saved.jsonl:1: doc_id is missing; "
        "pass a samples_<task>_<time>.jsonl that an lm-eval run wrote with --log_samples",
    ),
    (
        "",
        "INPUTS is a folder, not a samples file; "
        "pass a samples_<task>_<time>.jsonl that an lm-eval run wrote with --log_samples",
    ),
]


@pytest.mark.parametrize(("name", "expected"), EXPORT_ERRORS)
def test_export_of_a_file_that_is_not_a_samples_file_is_one_line(inputs, name, expected):
    result = run_cli("export", str(inputs / name) if name else str(inputs))
    assert error_line(result) == f"{PROG}: error: " + expected.replace("INPUTS", str(inputs))


def samples_file(path: Path, problems: int, records: bool = True) -> Path:
    """A samples file of the layout lm-eval writes, with two filters and long responses; its filtered
    responses are records, or (``records=False``) bare answers, as files written before records."""
    logged = str(Record("1", True, correct=True, verdict=True, reason="same string", timed_out=False)) if records else "1"
    rows = [
        {
            "doc_id": i,
            "doc": {"problem": f"problem {i}", "answer": "1", "unique_id": f"p/{i}"},
            "filter": filter_name,
            "resps": [["x" * 2000 + " \\boxed{1}"]],
            "filtered_resps": [[logged]],
            "accuracy": 1.0,
            "format_ok": 1.0,
        }
        for filter_name in ("strict", "lenient")
        for i in range(problems)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_export_of_an_unknown_filter_names_the_filters(tmp_path):
    result = run_cli("export", str(samples_file(tmp_path / "samples.jsonl", 1)), "--filter", "strikt")
    assert error_line(result).endswith("has no filter 'strikt'; pass --filter one of strict, lenient")


def test_export_of_a_samples_file_without_records_says_to_regrade(tmp_path):
    path = samples_file(tmp_path / "samples_math500_deepthink_2026-01-01T00-00-00.jsonl", 1, records=False)
    assert error_line(run_cli("export", str(path))) == (
        f"{PROG}: error: {path} holds no per-response records (it was written before runs logged them); "
        "analyse it with --regrade, which extracts and grades every response again with today's grader"
    )
    assert error_line(run_cli("export", str(path), "--regrade")).endswith(
        "re-grading needs the run's results file, which records the task's filters: keep the two files together"
    )


def test_export_into_a_closed_pipe_ends_quietly(tmp_path):
    path = samples_file(tmp_path / "samples.jsonl", 500)  # ~1 MB, far more than a pipe holds
    export = subprocess.Popen(
        [sys.executable, "-c", "from lm_eval_math500.cli import main; main()", "export", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first = export.stdout.readline()
    export.stdout.close()  # what `| head -n 1` does after its line
    assert export.wait(timeout=120) == 0
    assert json.loads(first)["idx"] == 0
    assert export.stderr.read() == b""


GOLD_FIX = "e.g. --gold '\\frac{1}{2}'"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--gold", "\\frac{", "--pred", "1"], f"--gold '\\frac{{' is not an answer the grader can read (LaTeX, a number or words); correct the gold, {GOLD_FIX}"),
        (["--gold", "\\frac{", "--response", "so \\boxed{1}"], f"--gold '\\frac{{' is not an answer the grader can read (LaTeX, a number or words); correct the gold, {GOLD_FIX}"),
        (["--gold", " ", "--pred", "1"], f"--gold is empty; pass the gold answer, {GOLD_FIX}"),
    ],
)
def test_grade_of_an_unreadable_gold_blames_the_gold(args, expected):
    assert error_line(run_cli("grade", *args)) == f"{PROG}: error: {expected}"


def test_grade_of_an_unreadable_answer_is_a_wrong_answer():
    result = run_cli("grade", "--gold", "\\frac{1}{2}", "--pred", "\\frac{")
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["correct"], verdict["reason"]) == (False, "not a readable answer")


TOKENIZER = "Qwen/Qwen2.5-Math-1.5B"
FETCH = f"pass a folder that holds a tokenizer, or fetch {TOKENIZER} where the hub can be reached (hf download {TOKENIZER})"


@pytest.mark.parametrize(
    ("hub", "expected"),
    [
        # A hub that refuses every connection, as one that cannot be reached does.
        ({"HF_ENDPOINT": "http://127.0.0.1:9"}, f"{TOKENIZER} is not in the local Hugging Face cache and the hub cannot be reached (ConnectError); {FETCH}"),
        ({"HF_HUB_OFFLINE": "1"}, f"{TOKENIZER} is not in the local Hugging Face cache and the hub is off (HF_HUB_OFFLINE); {FETCH}"),
    ],
)
def test_report_with_a_named_tokenizer_that_cannot_load_is_one_line_without_retries(tmp_path, hub, expected):
    env = {key: value for key, value in os.environ.items() if key not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_HOME=str(tmp_path / "empty_cache"), **hub)
    result = subprocess.run(
        [sys.executable, "-c", "from lm_eval_math500.cli import main; main()", "report", str(tmp_path), "--tokenizer", TOKENIZER],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert error_line(result) == f"{PROG}: error: --tokenizer: tokenizer {expected}"


@pytest.mark.slow
def test_report_with_a_tokenizer_folder_that_holds_none_is_one_line(tmp_path):
    line = error_line(run_cli("report", str(tmp_path), "--tokenizer", str(tmp_path)))
    assert line.startswith(f"{PROG}: error: --tokenizer: {tmp_path} holds no tokenizer that loads (")
    assert line.endswith("); pass a folder that holds one")


def test_grade_of_a_missing_response_file_is_one_line(tmp_path):
    result = run_cli("grade", "--gold", "1", "--response-file", str(tmp_path / "none.txt"))
    assert error_line(result) == (
        f"{PROG}: error: response file {tmp_path / 'none.txt'} does not exist; pass --response-file FILE, "
        "or - for standard input"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["grade", "--gold", "1"], "one of the arguments --response --response-file --pred is required"),
        (["grade", "--gold", "1", "--response", "1", "--pred", "2"], "--pred: not allowed with argument --response"),
        (["tasks-dir", "extra"], "unrecognized arguments: extra"),
        (["grades"], "argument command: invalid choice: 'grades'"),
    ],
)
def test_usage_errors_are_one_line_that_points_at_help(args, expected):
    line = error_line(run_cli(*args))
    assert expected in line and line.endswith("--help")


LONG_RESPONSE = "Let me think. " * 75_000 + "So the answer is $\\boxed{\\frac{1}{2}}$."  # ~1 MB


def test_grade_reads_a_long_response_from_a_file(tmp_path):
    path = tmp_path / "response.txt"
    path.write_text(LONG_RESPONSE, encoding="utf-8")
    result = run_cli("grade", "--gold", "0.5", "--response-file", str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "correct": True, "reason": "numeric value equal", "format_ok": True, "pred": "\\frac{1}{2}", "timed_out": False,
    }


def test_grade_reads_the_response_from_standard_input():
    result = run_cli("grade", "--gold", "2", "--response-file", "-", stdin=LONG_RESPONSE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["correct"] is False


def test_help_is_plain_text():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("tasks-dir", "run", "export", "grade"):
        assert command in result.stdout
    assert not re.search(r"``|:func:|:class:|:mod:", result.stdout)


def test_run_help_says_what_replay_is_and_its_arguments():
    result = run_cli("run", "--help")
    assert result.returncode == 0
    ours, _, lm_eval_help = result.stdout.partition("lm-eval's own options follow.")
    assert "--model replay answers each request with a generation saved earlier" in ours
    for argument in ("path", "keep_stop", "model"):
        assert re.search(rf"^  {argument} +\S", ours, re.MULTILINE)
    assert "--model_args" in lm_eval_help and "--tasks" in lm_eval_help


def test_run_help_lists_the_options_this_command_adds_above_lm_evals():
    result = run_cli("run", "--help")
    assert result.returncode == 0
    ours, _, lm_eval_help = result.stdout.partition("lm-eval's own options follow.")
    for option in ("--repeats N", "--journal FILE", "--journal-reuse"):
        assert re.search(rf"^  {option} +\S", ours, re.MULTILINE), option
        assert option.split()[0] not in lm_eval_help
    assert re.search(r"^  only_saved +\S", ours, re.MULTILINE)
    assert "--model_args path=qwen.jsonl,only_saved=true --repeats 8" in ours


def test_reproduce_list_names_every_preset_with_what_it_reproduces():
    from lm_eval_math500.analysis.reproduce import load_preset, preset_names

    result = run_cli("reproduce", "--list")
    assert result.returncode == 0, result.stderr
    listed = [line for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert listed == preset_names()
    for name in preset_names():
        for entry in load_preset(name).published:
            assert re.search(
                rf"^  {re.escape(entry.model)} +{entry.task} +{re.escape(entry.metric)} +{entry.score:.1f}$",
                result.stdout, re.MULTILINE,
            ), (name, entry)  # fmt: skip


def record(answer: str, correct: bool, format_ok: bool, verdict: bool) -> str:
    """A graded record as the samples file holds it."""
    reason = "same string" if correct else "numeric value differs"
    return str(Record(answer, format_ok, correct=correct, verdict=verdict, reason=reason, timed_out=False))


def test_export_correct_is_the_filters_recorded_verdict(tmp_path):
    doc = {"problem": "1 + 1?", "answer": "2", "unique_id": "p/0", "subject": "Algebra", "level": 1}
    common = {"doc_id": 0, "doc": doc, "resps": [["<answer>2"]], "accuracy": 1.0}
    rows = [
        # r1_zero: the right answer in the wrong format counts for accuracy but not for answer_reward.
        {**common, "filter": "cs336", "filtered_resps": [[record("2", True, False, False)]], "format_ok": 0.0,
         "answer_reward": 0.0},
        {**common, "filter": "tags", "filtered_resps": [[record("2", True, True, True)]], "format_ok": 1.0,
         "answer_reward": 1.0},
        # Three repeats of which two are right.
        {**common, "filter": "extract", "resps": [["2", "3", "2"]],
         "filtered_resps": [[record("2", True, True, True), record("3", False, True, False), record("2", True, True, True)]],
         "accuracy": 2 / 3, "format_ok": 1.0},
    ]  # fmt: skip
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))

    def export(filter_name: str) -> dict:
        result = run_cli("export", str(path), "--filter", filter_name)
        assert result.returncode == 0, result.stderr
        (line,) = result.stdout.splitlines()
        return json.loads(line)

    cs336 = export("cs336")
    assert (cs336["correct"], cs336["format_ok"], cs336["pred"]) == (False, False, "2")
    assert cs336["reason"] == "format check failed; the answer: same string"
    assert export("tags")["correct"] is True
    repeated = export("extract")
    assert repeated["correct"] == pytest.approx(2 / 3)
    assert repeated["pred"] == ["2", "3", "2"] and repeated["pred_text"] == ["2", "3", "2"]
    assert repeated["reason"] == ["same string", "numeric value differs", "same string"]
    assert set(export("tags")) == {
        "idx", "unique_id", "subject", "level", "problem", "gold", "pred", "pred_text", "correct", "reason", "format_ok",
    }  # fmt: skip


def test_a_replay_with_a_chat_template_is_one_line(inputs):
    result = run_cli(
        "run", "--model", "replay", "--model_args", f"path={inputs}/saved.jsonl", "--tasks", "math500_boxed",
        "--limit", "1", "--apply_chat_template",
    )  # fmt: skip
    assert error_line(result) == (
        f"{PROG}: error: --model replay applies no chat template: it has no tokenizer, and its generations were made "
        "already; drop --apply_chat_template (or apply_chat_template from the --config file)"
    )
