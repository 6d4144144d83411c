"""The journal model around a backend that does not report generations as they arrive (replay).

Runs against a real server, a killed run and injected faults are in ``test_served.py``; these runs
need no model: the replay model is the backend, and a replay file that lacks a problem proves the
journal served it (replay raises on a problem it has no generation for).
"""

from __future__ import annotations

import json
from pathlib import Path

import lm_eval
import pytest
from lm_eval.tasks import TaskManager

from lm_eval_math500.cli import main, tasks_dir
from lm_eval_math500.harness.journal import Journal, UnansweredRequestsError

LIMIT = 3
TASK = "math500_r1zero"


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


def test_a_restarted_run_asks_the_backend_only_for_what_the_journal_lacks(shared_data, tmp_path):
    problems = _problems(shared_data)
    journal = tmp_path / "run.journal.jsonl"
    first = _run(journal, _generations(tmp_path / "all.jsonl", problems), shared_data)
    rows = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert sorted(row["problem"] for row in rows) == sorted(problems)
    assert {row["task"] for row in rows} == {TASK}

    # A kill in the middle of writing the third line leaves it torn; the journal drops it.
    lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    journal.write_text("".join(lines[:2]) + lines[2][:40], encoding="utf-8")
    lacking = json.loads(lines[2])["problem"]
    again = _run(journal, _generations(tmp_path / "rest.jsonl", problems, only=lacking), shared_data)
    assert _resps(again) == _resps(first)
    assert again["results"][TASK] == first["results"][TASK]
    assert len(journal.read_text(encoding="utf-8").splitlines()) == LIMIT

    # The finished journal is a generations file the replay model reads back.
    assert Journal(journal).count == LIMIT
    manager = TaskManager(include_path=str(tasks_dir()), include_defaults=False, metadata={"data_dir": str(shared_data)})
    replayed = lm_eval.simple_evaluate(
        model="replay", model_args={"path": str(journal)}, tasks=[TASK], task_manager=manager, limit=LIMIT,
        log_samples=True, bootstrap_iters=0,
    )  # fmt: skip
    assert _resps(replayed) == _resps(first)


def test_a_failing_backend_names_what_is_kept_and_how_to_resume(shared_data, tmp_path):
    (tmp_path / "none.jsonl").write_text("", encoding="utf-8")
    journal = tmp_path / "run.journal.jsonl"
    with pytest.raises(UnansweredRequestsError) as failure:
        _run(journal, tmp_path / "none.jsonl", shared_data)
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith(f"replay left {LIMIT} of {LIMIT} requests unanswered (MissingGenerationError: ")
    assert message.endswith(f"0 generations are kept in {journal}: run the same command again to send only the rest")


@pytest.mark.parametrize(
    "argv,message",
    [
        (["run", "--tasks", TASK, "--journal"], "--journal needs a file name"),
        (["run", "--tasks", TASK, "--journal", "run.jsonl"], "--journal needs the backend named with --model"),
    ],
)
def test_journal_option_errors_name_the_fix(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith(f"lm-eval-math500: error: {message}")
