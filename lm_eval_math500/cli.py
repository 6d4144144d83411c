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
    """Run ``lm-eval run ARGS`` with the replay model registered and this package's tasks included."""
    import lm_eval_math500.harness.replay  # noqa: F401  (registers --model replay)
    from lm_eval.__main__ import cli_evaluate

    if "--include_path" not in args:
        args = [*args, "--include_path", str(tasks_dir())]
    sys.argv = ["lm-eval", "run", *args]
    cli_evaluate()


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


def _reproduce(options: argparse.Namespace) -> None:
    """Run a preset (or print its command), or set a finished run against the preset's published scores."""
    from lm_eval_math500.analysis import reproduce
    from lm_eval_math500.analysis.samples import RunReadError, read_run

    try:
        preset = reproduce.load_preset(options.preset)
        if options.compare:
            print(reproduce.format_comparisons(preset, reproduce.compare(preset, read_run(options.compare))))
            return
    except (ValueError, RunReadError) as err:
        raise SystemExit(f"lm-eval-math500 reproduce: {err}") from None
    if options.model_args is None:
        raise SystemExit("reproduce needs --model_args pretrained=MODEL to run (or --compare RUN_FOLDER)")
    output_path = options.output_path or f"runs/{preset.name}"
    argv = reproduce.command(
        preset,
        tasks_dir=tasks_dir(),
        model=options.model,
        model_args=options.model_args,
        output_path=output_path,
        metadata=json.loads(options.metadata) if options.metadata else None,
    )
    if options.dry_run:
        print(reproduce.shell_line(argv))
        return
    run_lm_eval(argv[2:])
    print(reproduce.format_comparisons(preset, reproduce.compare(preset, read_run(output_path))))


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

    repro = commands.add_parser(
        "reproduce",
        help="run a preset of published settings, or compare a finished run with its published scores",
    )
    repro.add_argument("preset", help="a preset name (a file in the package's presets/ folder without .yaml)")
    repro.add_argument("--model", default="vllm", help="lm-eval backend (default: vllm)")
    repro.add_argument("--model_args", help="e.g. pretrained=deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B")
    repro.add_argument("--metadata", help="JSON merged into the preset's metadata, e.g. '{\"data_dir\": \"DIR\"}'")
    repro.add_argument("--output_path", help="where lm-eval writes the run (default: runs/PRESET)")
    repro.add_argument("--dry-run", action="store_true", help="print the lm-eval command instead of running it")
    repro.add_argument("--compare", metavar="RUN_FOLDER", help="a finished run to set against the published scores")

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
    elif options.command == "reproduce":
        _reproduce(options)
