"""``lm-eval-math500``: the task folder, lm-eval runs with the replay model, export and grading."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from lm_eval_math500.grader.grading import grade
from lm_eval_math500.grader.equivalence import is_equivalent

STYLES = ("auto", "r1_zero", "deepthink", "question_only")


def tasks_dir() -> Path:
    """The folder of task YAML to hand to lm-eval's ``--include_path``."""
    return (Path(__file__).parent / "tasks").resolve()


def run_lm_eval(args: list[str]) -> None:
    """Run ``lm-eval run ARGS`` with the replay model registered and this package's tasks included.

    ``--journal FILE`` runs the ``--model`` backend through the journal model (resumable runs).
    """
    import lm_eval_math500.harness.replay  # noqa: F401  (registers --model replay)
    from lm_eval.__main__ import cli_evaluate
    from lm_eval_math500.harness.journal import UnansweredRequestsError

    if "--journal" in args:
        args = _journaled(args)
    if "--include_path" not in args:
        args = [*args, "--include_path", str(tasks_dir())]
    sys.argv = ["lm-eval", "run", *args]
    try:
        cli_evaluate()
    except UnansweredRequestsError as error:
        raise SystemExit(f"lm-eval-math500: {error}") from None


def _journaled(args: list[str]) -> list[str]:
    """``--journal FILE --model NAME`` becomes ``--model journal`` with ``backend=NAME, journal=FILE``."""
    at = args.index("--journal")
    if at + 1 == len(args) or args[at + 1].startswith("-"):
        raise SystemExit("lm-eval-math500: --journal needs a file name, e.g. --journal run.journal.jsonl")
    path, args = args[at + 1], args[:at] + args[at + 2 :]
    for flag in ("--model", "-M"):
        if flag in args:
            at = args.index(flag)
            backend = args[at + 1]
            args = args[:at] + ["--model", "journal"] + args[at + 2 :]
            return [*args, "--model_args", json.dumps({"backend": backend, "journal": path})]
    raise SystemExit("lm-eval-math500: --journal needs the backend named with --model on the command line")


def _export(options: argparse.Namespace) -> None:
    from lm_eval_math500.analysis.export import export_rows

    out = open(options.output, "w", encoding="utf-8") if options.output else sys.stdout
    try:
        for row in export_rows(options.samples, options.filter):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()


def _grade(options: argparse.Namespace) -> None:
    if options.pred is not None:
        verdict = {"correct": is_equivalent(options.pred, options.gold, problem=options.problem), "pred": options.pred}
    else:
        verdict = dataclasses.asdict(
            grade(options.response, options.gold, style=options.style, problem=options.problem)
        )
    print(json.dumps(verdict, ensure_ascii=False))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lm-eval-math500", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("tasks-dir", help="print the folder to pass to lm-eval --include_path")
    commands.add_parser(
        "run",
        help="lm-eval run with --model replay available and these tasks included; the other arguments go to "
        "lm-eval; --journal FILE keeps every generation in FILE and resumes from it",
        add_help=False,
    )

    export = commands.add_parser("export", help="per-sample JSONL from an lm-eval samples_*.jsonl file")
    export.add_argument("samples", help="an lm-eval samples_<task>_<time>.jsonl file")
    export.add_argument("--filter", help="extraction filter to export (default: the file's first)")
    export.add_argument("-o", "--output", help="write here instead of standard output")

    grade_cmd = commands.add_parser("grade", help="grade one answer and print the verdict as JSON")
    grade_cmd.add_argument("--gold", required=True, help="the gold answer, e.g. '\\frac{1}{2}'")
    given = grade_cmd.add_mutually_exclusive_group(required=True)
    given.add_argument("--response", help="a whole model response: the answer is extracted first")
    given.add_argument("--pred", help="an answer already extracted")
    grade_cmd.add_argument("--problem", help="the problem text, so that a form it asks for is enforced")
    grade_cmd.add_argument("--style", choices=STYLES, default="auto", help="how to extract from --response")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``lm-eval-math500`` command."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        run_lm_eval(argv[1:])
        return
    options = _parser().parse_args(argv)
    if options.command == "tasks-dir":
        print(tasks_dir())
    elif options.command == "export":
        _export(options)
    elif options.command == "grade":
        _grade(options)
