"""The journal model: resuming from its file, and the identity at its head that keeps one model's
generations out of another's results.

Runs against a real server, a killed run and injected faults are in ``test_served.py``; the runs
here need no model: the replay model is the backend, and a replay file that lacks a problem proves
the journal served it (replay raises on a problem it has no generation for). The identity checks
build lm-eval's ``local-completions`` backend, which reaches no server until it is asked for a
generation.
"""

from __future__ import annotations

import json
from pathlib import Path

import lm_eval
import pytest
from lm_eval.tasks import TaskManager

from lm_eval_math500.cli import main, tasks_dir
from lm_eval_math500.harness.journal import Journal, JournaledLM, JournalIdentityError, UnansweredRequestsError, package_version

LIMIT = 3
TASK = "math500_r1zero"
URL = "http://127.0.0.1:9/v1/completions"  # nothing listens there: no request is ever sent
TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"


def _problems(shared_data: Path) -> list[str]:
    with (shared_data / "math500" / "test.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line)["problem"] for line in handle][:LIMIT]


def _generations(path: Path, problems: list[str], only: str | None = None) -> Path:
    """A replay file answering each problem (or ``only`` that one) with its own R1-Zero response."""
    rows = [
        {"problem": p, "response": f" thought {i}</think> <answer>{i}</answer>"}
        for i, p in enumerate(problems)
        if only in (None, p)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _run(journal: Path, generations: Path, shared_data: Path) -> dict:
    manager = TaskManager(include_path=str(tasks_dir()), include_defaults=False, metadata={"data_dir": str(shared_data)})
    return lm_eval.simple_evaluate(
        model="journal",
        model_args={"backend": "replay", "journal": str(journal), "path": str(generations)},
        tasks=[TASK],
        task_manager=manager,
        limit=LIMIT,
        log_samples=True,
        bootstrap_iters=0,
    )


def _resps(results: dict) -> dict[tuple[int, str], list]:
    return {(row["doc_id"], row["filter"]): row["resps"] for row in results["samples"][TASK]}


def _lines(journal: Path) -> list[dict]:
    return [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]


def test_a_restarted_run_asks_the_backend_only_for_what_the_journal_lacks(shared_data, tmp_path):
    problems = _problems(shared_data)
    journal = tmp_path / "run.journal.jsonl"
    first = _run(journal, _generations(tmp_path / "all.jsonl", problems), shared_data)
    head, *rows = _lines(journal)
    assert head == {
        "journal": {"backend": "replay", "model_args": {}, "chat_template": None, "system_instruction": None, "version": package_version()}
    }
    assert sorted(row["problem"] for row in rows) == sorted(problems)
    assert {row["task"] for row in rows} == {TASK}

    # A kill in the middle of writing the last line leaves it torn; the journal drops it.
    lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    journal.write_text("".join(lines[:-1]) + lines[-1][:40], encoding="utf-8")
    lacking = json.loads(lines[-1])["problem"]
    again = _run(journal, _generations(tmp_path / "rest.jsonl", problems, only=lacking), shared_data)
    assert _resps(again) == _resps(first)
    assert again["results"][TASK] == first["results"][TASK]
    assert _lines(journal) == [head, *rows]  # the same identity, the same generations

    # The finished journal is a generations file the replay model reads back.
    assert Journal(journal).count == LIMIT
    manager = TaskManager(include_path=str(tasks_dir()), include_defaults=False, metadata={"data_dir": str(shared_data)})
    replayed = lm_eval.simple_evaluate(
        model="replay", model_args={"path": str(journal)}, tasks=[TASK], task_manager=manager, limit=LIMIT,
        log_samples=True, bootstrap_iters=0,
    )  # fmt: skip
    assert _resps(replayed) == _resps(first)


def test_a_failing_backend_names_what_is_kept_and_how_to_resume(shared_data, tmp_path):
    unrelated = tmp_path / "unrelated.jsonl"
    unrelated.write_text(json.dumps({"problem": "What is 1 + 1?", "response": "2"}) + "\n", encoding="utf-8")
    journal = tmp_path / "run.journal.jsonl"
    with pytest.raises(UnansweredRequestsError) as failure:
        _run(journal, unrelated, shared_data)
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith(f"replay left {LIMIT} of {LIMIT} requests unanswered (MissingGenerationError: ")
    assert message.endswith(f"0 generations are kept in {journal}: run the same command again to send only the rest")


@pytest.fixture(scope="module")
def tokenizer_folder(tmp_path_factory) -> Path:
    """A tokenizer with a chat template, saved as a model's tokenizer is."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tokenizer")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]")), unk_token="[UNK]")
    tokenizer.chat_template = TEMPLATE
    tokenizer.save_pretrained(folder)
    return folder


def _served(journal: Path, tokenizer: Path, **changed) -> JournaledLM:
    """The journal model around local-completions, as lm-eval builds it from these arguments."""
    arguments = {
        "backend": "local-completions", "journal": str(journal), "model": "served-model", "base_url": URL,
        "tokenizer": str(tokenizer), "tokenizer_backend": "huggingface", "apply_chat_template": True, **changed,
    }  # fmt: skip
    return JournaledLM(**arguments)


def _edit_template(tokenizer: Path) -> dict:
    """Edit the tokenizer's chat template in place, as a user who changes a model's template does;
    the run's arguments stay the same."""
    from transformers import AutoTokenizer

    edited = AutoTokenizer.from_pretrained(tokenizer)
    edited.chat_template = "<s>" + TEMPLATE
    edited.save_pretrained(tokenizer)
    return {}


# (what the message names, what the second run changes: its arguments, given the tokenizer folder)
IDENTITY_CHANGES = [
    ("model 'served-model', not this run's 'other-model'", lambda _: {"model": "other-model"}),
    ("pretrained (none), not this run's 'org/other'", lambda _: {"pretrained": "org/other"}),
    (f"base_url {URL!r}, not this run's 'http://127.0.0.1:9/v2/completions'", lambda _: {"base_url": "http://127.0.0.1:9/v2/completions"}),
    ("system instruction (none), not this run's 'Answer briefly.'", lambda _: {"system_instruction": "Answer briefly."}),
    ("chat template 'sha256:", _edit_template),
    ("chat template 'sha256:", lambda _: {"apply_chat_template": False}),
]


@pytest.mark.parametrize(("named", "change"), IDENTITY_CHANGES)
def test_a_journal_of_another_model_or_setting_stops_the_run_in_one_line(named, change, tokenizer_folder, tmp_path):
    tokenizer = tmp_path / "tokenizer"
    tokenizer.mkdir()
    for file in tokenizer_folder.iterdir():
        (tokenizer / file.name).write_bytes(file.read_bytes())
    journal = tmp_path / "run.journal.jsonl"
    _served(journal, tokenizer)
    (head,) = _lines(journal)
    assert head["journal"]["model_args"] == {"model": "served-model", "base_url": URL}
    assert head["journal"]["chat_template"].startswith("sha256:")
    changed = change(tokenizer)
    with pytest.raises(JournalIdentityError) as stopped:
        _served(journal, tokenizer, **changed)
    message = str(stopped.value)
    assert "\n" not in message
    assert message.startswith(f"journal {journal} holds generations of {named}")
    assert message.endswith("; pass another --journal file (one per model and task), or add --journal-reuse to take its generations anyway")
    # --journal-reuse takes them anyway, and the head keeps saying what made them.
    _served(journal, tokenizer, journal_reuse=True, **changed)
    assert _lines(journal) == [head]


def test_the_same_identity_reopens_the_journal(tokenizer_folder, tmp_path):
    journal = tmp_path / "run.journal.jsonl"
    _served(journal, tokenizer_folder, system_instruction="Answer briefly.")
    _served(journal, tokenizer_folder, system_instruction="Answer briefly.")
    (head,) = _lines(journal)
    assert head["journal"]["system_instruction"] == "Answer briefly."


def test_a_journal_written_before_identities_needs_reuse(shared_data, tmp_path):
    journal = tmp_path / "old.journal.jsonl"
    first = _run(journal, _generations(tmp_path / "all.jsonl", _problems(shared_data)), shared_data)
    journal.write_text("".join(line + "\n" for line in journal.read_text(encoding="utf-8").splitlines()[1:]), encoding="utf-8")
    with pytest.raises(JournalIdentityError, match=r"records no identity \(it was written before journals recorded"):
        _run(journal, tmp_path / "all.jsonl", shared_data)
    unrelated = tmp_path / "unrelated.jsonl"
    unrelated.write_text(json.dumps({"problem": "What is 1 + 1?", "response": "2"}) + "\n", encoding="utf-8")
    manager = TaskManager(include_path=str(tasks_dir()), include_defaults=False, metadata={"data_dir": str(shared_data)})
    reused = lm_eval.simple_evaluate(
        model="journal", tasks=[TASK], task_manager=manager, limit=LIMIT, log_samples=True, bootstrap_iters=0,
        model_args={"backend": "replay", "journal": str(journal), "journal_reuse": True, "path": str(unrelated)},
    )  # fmt: skip
    assert _resps(reused) == _resps(first)  # all served by the journal: the replay file has none of them
    assert len(_lines(journal)) == LIMIT  # no head is added to a journal that has lines


def _cli(argv: list[str], capsys) -> str:
    """Run the command in this process; return its one error line (it must exit with 2)."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("lm-eval-math500: ")]
    return line


def test_the_run_command_stops_on_another_models_journal_before_lm_eval_loads(tokenizer_folder, tmp_path, capsys):
    journal = tmp_path / "run.journal.jsonl"
    _served(journal, tokenizer_folder)
    argv = [
        "run", "--model", "local-completions", "--model_args", f"model=other-model,base_url={URL},tokenizer_backend=None",
        "--tasks", TASK, "--journal", str(journal),
    ]  # fmt: skip
    assert _cli(argv, capsys) == (
        f"lm-eval-math500: error: journal {journal} holds generations of model 'served-model', not this run's "
        "'other-model'; pass another --journal file (one per model and task), or add --journal-reuse to take its "
        "generations anyway"
    )


@pytest.mark.parametrize(
    "argv,message",
    [
        (["run", "--tasks", TASK, "--journal"], "--journal needs a file name"),
        (["run", "--tasks", TASK, "--journal", "run.jsonl"], "--journal needs the backend named with --model"),
        (["run", "--tasks", TASK, "--model", "hf", "--journal-reuse"], "--journal-reuse goes with --journal FILE"),
    ],
)
def test_journal_option_errors_name_the_fix(argv, message, capsys):
    assert _cli(argv, capsys).startswith(f"lm-eval-math500: error: {message}")


def test_a_journal_that_is_a_folder_or_damaged_is_named_as_a_journal(tmp_path, capsys):
    base = ["run", "--model", "local-completions", "--model_args", f"model=m,base_url={URL}", "--tasks", TASK, "--journal"]
    assert _cli([*base, str(tmp_path)], capsys) == (
        f"lm-eval-math500: error: {tmp_path} is a folder, not a journal; "
        "pass --journal the name of a journal file (a new name starts a new journal)"
    )
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text('{"journal": {"backend": "local-completions", "version": "0.1.0"}}\n{"prompt": 1}\n', encoding="utf-8")
    assert _cli([*base, str(damaged)], capsys) == (
        f"lm-eval-math500: error: {damaged}:2: prompt is an integer, not a string; "
        "delete that line and the lines after it to resume from the rest, or pass another --journal file"
    )
