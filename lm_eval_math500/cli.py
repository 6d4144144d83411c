"""``lm-eval-math500``: the task folder, lm-eval runs with the replay model, export and grading."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import time
from pathlib import Path

from lm_eval_math500.grader.grading import grade
from lm_eval_math500.grader.equivalence import is_equivalent

STYLES = ("auto", "r1_zero", "deepthink", "question_only")


def tasks_dir() -> Path:
    """The folder of task YAML to hand to lm-eval's ``--include_path``."""
    return (Path(__file__).parent / "tasks").resolve()


def run_lm_eval(args: list[str]) -> None:
    """Run ``lm-eval run ARGS`` with the replay model registered and this package's tasks included.

    ``--repeats N`` (ours) samples every problem N times; with ``--output_path`` and
    ``--log_samples`` the results file then gets per-level and per-subject breakdowns.
    """
    import lm_eval_math500.harness.replay  # noqa: F401  (registers --model replay)
    from lm_eval.__main__ import cli_evaluate

    from lm_eval_math500.analysis.breakdown import add_breakdowns
    from lm_eval_math500.harness.sampling import repeats

    args, n = _take_repeats(args)
    if "--include_path" not in args:
        args = [*args, "--include_path", str(tasks_dir())]
    sys.argv = ["lm-eval", "run", *args]
    started = time.time()
    with repeats(n) if n is not None else contextlib.nullcontext():
        cli_evaluate()
    add_breakdowns(_option(args, "--output_path", "-o"), since=started)


def _take_repeats(args: list[str]) -> tuple[list[str], int | None]:
    """``args`` without ``--repeats N``, and N (None when not given)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--repeats", type=int)
    known, rest = parser.parse_known_args(args)
    return rest, known.repeats


def _option(args: list[str], *names: str) -> str | None:
    """The value given to an lm-eval option (``--name VALUE`` or ``--name=VALUE``), if any."""
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(name + "="):
                return arg[len(name) + 1 :]
    return None


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


def _report(options: argparse.Namespace) -> None:
    from lm_eval_math500.analysis.report import write_report

    print(write_report(options.run, options.out, options.tokenizer))


def _compare(options: argparse.Namespace) -> None:
    from lm_eval_math500.analysis.compare import write_comparison

    print(write_comparison(options.run_a, options.run_b, task=options.task, filter_name=options.filter, out=options.out))


def _add_analysis_commands(commands: argparse._SubParsersAction) -> None:
    """``report`` and ``compare``: reading finished runs."""
    report = commands.add_parser("report", help="report.md, report.json and PNG plots for a finished run")
    report.add_argument("run", help="the --output_path folder of a finished run (or its results_*.json)")
    report.add_argument("--out", help="folder for the report (default: beside the results file)")
    report.add_argument("--tokenizer", help="tokenizer name or folder to count tokens with (default: the run's model)")
    compare = commands.add_parser("compare", help="compare two runs problem by problem (McNemar, paired bootstrap)")
    compare.add_argument("run_a", help="the first run's --output_path folder (or results_*.json)")
    compare.add_argument("run_b", help="the second run's --output_path folder (or results_*.json)")
    compare.add_argument("--task", help="the task to compare (default: the runs' only common task)")
    compare.add_argument("--filter", help="extraction filter (default: the task's first)")
    compare.add_argument("--out", help="write one JSON line per problem here")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lm-eval-math500", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("tasks-dir", help="print the folder to pass to lm-eval --include_path")
    commands.add_parser(
        "run",
        help="lm-eval run with --model replay available and these tasks included; the other arguments go to lm-eval",
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
    _add_analysis_commands(commands)
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
    elif options.command == "report":
        _report(options)
    elif options.command == "compare":
        _compare(options)
