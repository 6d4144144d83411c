"""The lm-eval-math500 command: the task folder, lm-eval runs with the replay model, export and grading.

Each subcommand is a parser built in ``_parser`` with ``set_defaults(handler=...)``; a handler takes
the parsed options, and a bad input raises :class:`CommandError`, which ``main`` prints as one line.
``run`` is the exception: its arguments go to lm-eval's own parser.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import json
import logging
import os
import shlex
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn, TextIO

from lm_eval_math500.grader.formats import VARIANT_CHOICES

PROG = "lm-eval-math500"
DESCRIPTION = (
    "MATH-500, GSM8K and MATH-validation tasks for lm-evaluation-harness, the replay model that "
    "re-grades saved generations, export and grading. 'lm-eval-math500 COMMAND --help' describes a command."
)


REGRADE_HELP = (
    "extract and grade every response again with today's grader instead of reading the verdicts the run "
    "recorded (the only way to read a samples file written before runs recorded them)"
)


class CommandError(Exception):
    """A bad input to a command; the message names the problem and the fix, in one line."""


def tasks_dir() -> Path:
    """The folder of task YAML to hand to lm-eval's ``--include_path``."""
    return (Path(__file__).parent / "tasks").resolve()


def _own_options() -> argparse.ArgumentParser:
    """The options ``run`` adds to lm-eval's own; they are taken out before lm-eval's parser reads the rest."""
    parser = _Parser(
        prog=f"{PROG} run", usage=argparse.SUPPRESS, add_help=False, allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    own = parser.add_argument_group("options this command adds to lm-eval's")
    own.add_argument(
        "--repeats", type=int, metavar="N",
        help="samples per problem in every task (the same as --metadata '{\"repeats\": N}')",
    )  # fmt: skip
    own.add_argument(
        "--journal", metavar="FILE",
        help="keep every generation of the --model backend in FILE and resume from it; a journal made by "
        "another model, server, chat template or system instruction stops the run",
    )  # fmt: skip
    own.add_argument("--journal-reuse", action="store_true", help="with --journal: take that journal's generations anyway")
    return parser


def run_help() -> str:
    """What ``run`` adds to lm-eval's ``run``, printed above lm-eval's own help."""
    from lm_eval_math500.harness.replay import ARGUMENTS

    arguments = "\n".join(
        textwrap.fill(meaning, width=100, initial_indent=f"  {name:<11}", subsequent_indent=" " * 13)
        for name, meaning in ARGUMENTS.items()
    )
    intro = (
        f"{PROG} run ARGS is lm-eval's run with this package's tasks included (a --include_path adds a folder\n"
        "beside them), the options below and one more model, replay. It prints one row per task and filter,\n"
        "the verdict first.\n"
    )
    replay = (
        "--model replay answers each request with a generation saved earlier for the same problem, so saved\n"
        "outputs are re-graded by these tasks. It reads lm-eval samples files, this package's export, CS336 /\n"
        "Dr. GRPO results.jsonl (prompt + response), Qwen2.5-Math outputs (question + code) and journals;\n"
        "each task of the run draws on them by itself (one file replays through math500_all), e.g.\n"
        f"  {PROG} run --model replay --model_args path=runs/results.jsonl,keep_stop=True --tasks math500_r1zero\n"
        f"  {PROG} run --model replay --model_args path=qwen.jsonl,only_saved=true --repeats 8 --tasks math_validation_boxed\n"
        "Its --model_args:\n"
        f"{arguments}\n"
    )
    return f"{intro}\n{_own_options().format_help()}\n{replay}\nlm-eval's own options follow.\n"


# lm-eval run options whose loggers this command does not drive.
_NOT_DRIVEN = {"wandb_args": "Weights & Biases", "wandb_config_args": "Weights & Biases", "trackio_args": "Trackio"}


def run_lm_eval(args: list[str]) -> None:
    """Run lm-eval's ``run ARGS`` with the replay model registered and this package's tasks included.

    lm-eval's own parser reads the arguments; the evaluation goes through lm-eval's public entry
    points, and the results are saved as lm-eval saves them and printed as :func:`results_table`.
    ``--journal FILE`` runs the ``--model`` backend through the journal model (resumable runs);
    ``--repeats N`` samples every problem N times; with ``--output_path`` and ``--log_samples`` the
    results file then gets per-level and per-subject breakdowns.
    """
    from lm_eval_math500.harness.lm_eval_compat import IncompatibleLmEval, run_parser

    try:
        parser = run_parser(f"{PROG} run")
    except IncompatibleLmEval as error:
        raise CommandError(str(error)) from None
    if "-h" in args or "--help" in args:
        print(run_help())
    at = args.index("--journal") if "--journal" in args else None
    if at is not None and (at + 1 == len(args) or args[at + 1].startswith("-")):
        raise CommandError("--journal needs a file name, e.g. --journal MODEL__TASK.journal.jsonl")
    own, args = _own_options().parse_known_args(args)
    if own.repeats is not None and own.repeats < 1:
        raise CommandError(f"--repeats takes a number of samples per problem, at least 1, not {own.repeats}")
    if own.journal is not None:
        args = _journaled(args, own.journal, own.journal_reuse)
    elif own.journal_reuse:
        raise CommandError("--journal-reuse goes with --journal FILE: it takes that journal's generations anyway")
    options = parser.parse_args(args)
    for name, service in _NOT_DRIVEN.items():
        if getattr(options, name, None):
            raise CommandError(
                f"--{name}: {PROG} run does not log to {service}; run the tasks with lm-eval run "
                f'--include_path "$({PROG} tasks-dir)" for that'
            )
    if own.repeats is not None:
        options.metadata = {**(options.metadata or {}), "repeats": own.repeats}
    _evaluate(options)


def _evaluate(options: argparse.Namespace) -> None:
    """lm-eval's evaluation of the parsed ``run`` options, saved and printed."""
    from lm_eval import simple_evaluate
    from lm_eval.config import EvaluatorConfig
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.utils import handle_non_serializable, setup_logging

    from lm_eval_math500.analysis.breakdown import add_breakdowns
    from lm_eval_math500.analysis.summary import results_table
    from lm_eval_math500.harness.datasets import DataUnavailableError
    from lm_eval_math500.harness.input_files import InputFileError
    from lm_eval_math500.harness.journal import JournalIdentityError, UnansweredRequestsError, check_journal
    from lm_eval_math500.harness.output_paths import UnsafeNameError
    from lm_eval_math500.harness.replay import MissingGenerationError, ReplayInputError, check_arguments, run_name
    from lm_eval_math500.harness.task import MetadataError, check_keys

    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # as lm-eval's own run sets it
    try:
        # The files the model reads are checked before lm-eval loads anything.
        if options.model == "replay":
            options.model_args = options.model_args or {}
            check_arguments(options.model_args)
            # lm-eval names the output folder after model_args' "model" (else "path", which for a
            # relative path gives a hidden "..__..." folder): name it after the file.
            options.model_args["model"] = run_name(options.model_args["path"], options.model_args.get("model"))
        if options.model == "journal":
            if not {"backend", "journal"} <= set(options.model_args or {}):
                raise CommandError("--model journal needs --model_args backend=NAME,journal=FILE (or use --journal FILE)")
            check_journal(options.model_args, options.system_instruction)
        if options.output_path:
            _check_output_path(Path(options.output_path))
        setup_logging()
        started = time.time()
        config = EvaluatorConfig.from_cli(options)
        if config.model == "replay" and config.apply_chat_template:
            raise CommandError(
                "--model replay applies no chat template: it has no tokenizer, and its generations were made "
                "already; drop --apply_chat_template (or apply_chat_template from the --config file)"
            )
        config.include_path = _include_paths(config.include_path)
        tracker_args = dict(config.hf_hub_log_args)
        if config.output_path:
            tracker_args["output_path"] = config.output_path
        if os.environ.get("HF_TOKEN"):
            tracker_args["token"] = os.environ["HF_TOKEN"]
        tracker = EvaluationTracker(**tracker_args)
        if config.output_path:
            if config.output_path != options.output_path:  # named by a --config file
                _check_output_path(Path(config.output_path))
            if Path(config.output_path).suffix != ".json":  # else lm-eval names the file itself
                _check_results_folder(tracker, config)
        task_manager = _task_manager(config)
        limit = config.limit
        if config.model == "replay" and config.model_args.get("only_saved"):
            config.samples, limit = _only_saved(config, task_manager), None
        if all(_is_ours(task_manager, task) for task in config.tasks):
            check_keys({key: value for key, value in config.metadata.items() if key not in config.model_args}, strict=True)
        if config.model == "journal":  # the run's settings that make up the journal's identity
            config.model_args.update(system_instruction=config.system_instruction, apply_chat_template=config.apply_chat_template)
        seeds = config.seed or [None] * 4
        with _no_chat_template_advice(config.model):
            results = simple_evaluate(
                model=config.model,
                model_args=config.model_args,
                tasks=config.tasks,
                num_fewshot=config.num_fewshot,
                batch_size=config.batch_size,
                max_batch_size=config.max_batch_size,
                device=config.device,
                use_cache=config.use_cache,
                cache_requests=config.cache_requests.get("cache_requests", False),
                rewrite_requests_cache=config.cache_requests.get("rewrite_requests_cache", False),
                delete_requests_cache=config.cache_requests.get("delete_requests_cache", False),
                limit=limit,
                samples=config.samples,
                check_integrity=config.check_integrity,
                write_out=config.write_out,
                log_samples=config.log_samples,
                evaluation_tracker=tracker,
                system_instruction=config.system_instruction,
                apply_chat_template=config.apply_chat_template,
                fewshot_as_multiturn=config.fewshot_as_multiturn,
                gen_kwargs=config.gen_kwargs,
                task_manager=task_manager,
                verbosity=config.verbosity,
                predict_only=config.predict_only,
                random_seed=seeds[0],
                numpy_random_seed=seeds[1],
                torch_random_seed=seeds[2],
                fewshot_random_seed=seeds[3],
                confirm_run_unsafe_code=config.confirm_run_unsafe_code,
                metadata=config.metadata,
            )
    except (
        ReplayInputError, MissingGenerationError, DataUnavailableError, UnansweredRequestsError, MetadataError,
        InputFileError, JournalIdentityError, UnsafeNameError,
    ) as error:  # fmt: skip
        raise CommandError(str(error)) from None
    if results is None:  # not the first of several ranks
        return
    samples = results.pop("samples", None) if config.log_samples else None
    if config.show_config:
        print(json.dumps(results, indent=2, default=handle_non_serializable, ensure_ascii=False))
    tracker.save_results_aggregated(results=results, samples=samples)
    for task_name in results["configs"] if samples else ():
        tracker.save_results_samples(task_name=task_name, samples=samples[task_name])
    if tracker.push_results_to_hub or tracker.push_samples_to_hub:
        tracker.recreate_metadata_card()
    print(
        f"{config.model} ({config.model_args}), gen_kwargs: ({config.gen_kwargs}), limit: {config.limit}, "
        f"num_fewshot: {config.num_fewshot}, batch_size: {config.batch_size}"
    )
    print(results_table(results))
    if "groups" in results:
        print(results_table(results, "groups"))
    if config.output_path:
        results_file = _results_file(tracker, Path(config.output_path))
        print(f"Every metric, with its standard error, is in {results_file}")
        add_breakdowns(str(results_file), since=started)


def _results_file(tracker: Any, output_path: Path) -> Path:
    """The results file lm-eval's tracker has just written for ``--output_path`` (named as its
    ``save_results_aggregated`` names it: after the run's time, in the model's folder or beside a .json)."""
    if output_path.suffix == ".json":
        return output_path.with_name(f"{output_path.stem}_{tracker.date_id}.json")
    return output_path / tracker.general_config_tracker.model_name_sanitized / f"results_{tracker.date_id}.json"


def _check_output_path(path: Path) -> None:
    """Stop before the run when --output_path cannot be written, rather than lose its results at the
    end: the folder, or the nearest one above it that exists, must be a folder that can be written."""
    folder = path.parent if path.suffix == ".json" else path
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    problem = (
        f"{existing} is not a folder" if not existing.is_dir()
        else "Permission denied" if not os.access(existing, os.W_OK | os.X_OK)
        else None
    )  # fmt: skip
    if problem:
        raise CommandError(f"cannot write results into {folder} ({problem}); pass --output_path a folder you can write to")


def _check_results_folder(tracker: Any, config: Any) -> None:
    """Stop before the run when the folder lm-eval would file the results under (named after the
    model's arguments) is not one folder inside --output_path, e.g. for ``pretrained=..``."""
    from lm_eval_math500.harness.output_paths import is_component

    names = tracker.general_config_tracker
    names.log_experiment_args(
        model_source=config.model, model_args=config.model_args, system_instruction=None, chat_template=None,
        fewshot_as_multiturn=False,
    )  # fmt: skip
    if not is_component(names.model_name_sanitized):
        raise CommandError(
            f"lm-eval would file the results under {names.model_name_sanitized!r}, which is not a folder inside "
            "--output_path; name the model with a folder name (lm-eval takes it from peft, delta, pretrained, "
            "model or path in --model_args)"
        )


def _is_ours(task_manager: Any, task: Any) -> bool:
    """Whether ``task`` (as ``EvaluatorConfig.process_tasks`` resolved it) is one of this package's tasks or groups."""
    entry = task_manager.task_index.get(task) if isinstance(task, str) else None
    return entry is not None and entry.yaml_path is not None and Path(entry.yaml_path).resolve().is_relative_to(tasks_dir())


def _include_paths(given: str | list[str] | None) -> list[str]:
    """This package's task folder, then the folders the run names (``--include_path`` adds)."""
    named = [given] if isinstance(given, str) else list(given or [])
    paths = [str(tasks_dir()), *named]
    return list(dict.fromkeys(str(Path(path).expanduser().resolve()) for path in paths))


def _journaled(args: list[str], path: str, reuse: bool) -> list[str]:
    """``--model NAME`` of a run with ``--journal FILE`` becomes ``--model journal`` with
    ``backend=NAME, journal=FILE`` (and ``journal_reuse=True`` for ``--journal-reuse``)."""
    for flag in ("--model", "-M"):
        if flag in args:
            at = args.index(flag)
            backend = args[at + 1]
            args = args[:at] + ["--model", "journal"] + args[at + 2 :]
            journal = {"backend": backend, "journal": path, **({"journal_reuse": True} if reuse else {})}
            return [*args, "--model_args", json.dumps(journal)]
    raise CommandError("--journal needs the backend named with --model on the command line")


def _task_manager(config: Any) -> Any:
    """The run's task index, with ``config.tasks`` resolved as lm-eval's ``EvaluatorConfig.process_tasks`` does.

    lm-eval's own index of ~14,700 tasks takes seconds to build, so the names are looked up first
    among this package's tasks and the ``--include_path`` folders; lm-eval's index is built only for
    a name that is not theirs and that lm-eval's task files mention (a name they do not mention is
    none of lm-eval's), so a misspelled name is refused at once, with the nearest names.
    """
    from lm_eval.tasks import TaskManager

    names = _task_names(config.tasks)
    ours = TaskManager(include_path=config.include_path, include_defaults=False, metadata=config.metadata or {})
    found = {name: ours.match_tasks([name]) for name in names if not name.endswith(".yaml") and not _is_pattern(name)}
    if len(found) == len(names) and all(found.values()):
        config.tasks = list(dict.fromkeys(task for tasks in found.values() for task in tasks))
        return ours
    unknown = [name for name, tasks in found.items() if not tasks and not Path(name).is_dir()]
    if unknown and not _lm_eval_mentions(unknown):
        raise CommandError(_not_found(unknown[0], ours.all_tasks))
    try:
        return config.process_tasks(config.metadata)
    except ValueError:  # a name no index knows
        full = TaskManager(include_path=config.include_path)
        for name in unknown:
            if not full.match_tasks([name]):
                raise CommandError(_not_found(name, full.all_tasks)) from None
        raise


def _task_names(tasks: str | list[str] | None) -> list[str]:
    """``--tasks`` as a list of names, each comma-separated list split."""
    given = [tasks] if isinstance(tasks, str) else list(tasks or [])
    return [name for entry in given for name in entry.split(",") if name]


def _is_pattern(name: str) -> bool:
    """Whether a task name is a glob pattern, which may match tasks of lm-eval's too."""
    return any(char in name for char in "*?[")


def _lm_eval_mentions(names: list[str]) -> bool:
    """Whether any of ``names`` occurs in the text of lm-eval's own task files (where every task,
    group and tag of lm-eval's is named); reading them takes a fraction of indexing them."""
    from lm_eval import tasks

    wanted = [name.encode() for name in names]
    return any(
        any(name in path.read_bytes() for name in wanted) for path in Path(tasks.__file__).parent.rglob("*.yaml")
    )


def _not_found(name: str, known: list[str]) -> str:
    """The one line for a task name no index knows, with the nearest known names."""
    near = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(near)}?" if near else "`lm-eval ls tasks` lists the known names"
    return f"task {name!r} not found; {hint}"


def _only_saved(config: Any, task_manager: Any) -> dict[str, list[int]]:
    """lm-eval's ``samples`` for a replay with ``only_saved=true``: the problems the file holds,
    in each task of the run (the first ``--limit`` of them)."""
    from lm_eval_math500.harness.replay import saved_samples

    if config.samples:
        raise CommandError(
            "only_saved=true takes the problems from the replay file; drop --samples, or drop only_saved "
            "to run the problems --samples names"
        )
    return saved_samples(config.model_args["path"], task_manager.load(config.tasks)["tasks"], config.limit)


@contextlib.contextmanager
def _no_chat_template_advice(model: str) -> Iterator[None]:
    """For a replay, silence lm-eval's advice to apply a chat template, which it gives whenever a
    model argument says "instruct" or "chat" (as a replay file's name may): the generations exist
    already, made under whatever template their run used."""
    logger = logging.getLogger("lm_eval.evaluator")
    advice = _ChatTemplateAdvice()
    if model == "replay":
        logger.addFilter(advice)
    try:
        yield
    finally:
        logger.removeFilter(advice)


class _ChatTemplateAdvice(logging.Filter):
    """Drops lm-eval's "appears to be an instruct or chat variant" warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "instruct or chat variant" not in record.getMessage()


def _regraded(options: argparse.Namespace) -> None:
    """Say that ``--regrade`` graded again instead of reading the run's verdicts."""
    if options.regrade:
        from lm_eval_math500.harness.records import current_version

        print(
            f"{PROG}: re-graded every response with today's grader (task version {current_version()}), "
            "instead of reading the verdicts the run recorded",
            file=sys.stderr,
        )


def _export(options: argparse.Namespace) -> None:
    from lm_eval_math500.analysis.export import export_rows
    from lm_eval_math500.harness.budget import after_the_run

    with after_the_run():
        rows = export_rows(options.samples, options.filter, regrade=options.regrade)
    with _output(options.output) as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    _regraded(options)


@contextlib.contextmanager
def _input_errors() -> Iterator[None]:
    """A bad input file or run folder, read by any command but ``run``, as a :class:`CommandError`."""
    from lm_eval_math500.analysis.samples import RunReadError
    from lm_eval_math500.harness.input_files import InputFileError
    from lm_eval_math500.harness.output_paths import UnsafeNameError

    try:
        yield
    except (RunReadError, InputFileError, UnsafeNameError) as error:
        raise CommandError(str(error)) from None


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """The file named by ``-o``, else standard output."""
    if path is None:
        yield sys.stdout
        return
    try:
        handle = open(path, "w", encoding="utf-8")
    except OSError as error:
        raise CommandError(f"cannot write {path} ({error.strerror}); pass -o a path in a writable folder") from None
    with handle:
        yield handle


def _read_response(source: str) -> str:
    """The text of ``--response-file``: a file, or standard input for ``-``."""
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    fix = "pass --response-file FILE, or - for standard input"
    if path.is_dir():
        raise CommandError(f"response file {source} is a folder; {fix}")
    if not path.is_file():
        raise CommandError(f"response file {source} does not exist; {fix}")
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise CommandError(f"cannot read response file {source} ({error.strerror}); {fix}") from None


def _grade(options: argparse.Namespace) -> None:
    from lm_eval_math500.grader.equivalence import grade_answer
    from lm_eval_math500.grader.grading import grade

    example = "e.g. --gold '\\frac{1}{2}'"
    if not options.gold.strip():
        raise CommandError(f"--gold is empty; pass the gold answer, {example}")
    if options.pred is not None:
        verdict = grade_answer(options.pred, options.gold, problem=options.problem)
    else:
        response = options.response if options.response is not None else _read_response(options.response_file)
        verdict = grade(response, options.gold, variant=options.variant, problem=options.problem)
    # An unreadable answer is the gold's fault when the gold cannot be read against a plain number either.
    if verdict.reason.endswith(UNREADABLE) and grade_answer("0", options.gold).reason == UNREADABLE:
        raise CommandError(
            f"--gold {shlex.quote(options.gold)} is not an answer the grader can read (LaTeX, a number or words); "
            f"correct the gold, {example}"
        )
    print(json.dumps(dataclasses.asdict(verdict), ensure_ascii=False))


# The grader's reason for an answer it cannot read.
UNREADABLE = "not a readable answer"


def _tasks_dir(options: argparse.Namespace) -> None:
    print(tasks_dir())


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line that points at ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def _reproduce(options: argparse.Namespace) -> None:
    """Run a preset (or print its command), or set a finished run against the preset's published scores."""
    from lm_eval_math500.analysis import reproduce
    from lm_eval_math500.analysis.samples import find_results, read_run
    from lm_eval_math500.harness.budget import after_the_run

    if options.list:
        print(reproduce.preset_list())
        return
    if (options.preset is None) == (options.preset_file is None):
        raise CommandError(
            f"reproduce takes a preset name or --preset-file PATH.yaml, one of the two; the names are "
            f"{', '.join(reproduce.preset_names())} (reproduce --list says what each reproduces)"
        )
    try:
        preset = reproduce.load_preset(options.preset) if options.preset is not None else reproduce.load_preset_file(options.preset_file)
    except ValueError as error:  # an unknown name, a file that is no preset
        raise CommandError(str(error)) from None
    if options.compare:
        with after_the_run():
            comparisons = reproduce.compare(preset, read_run(options.compare, regrade=options.regrade))
        print(reproduce.format_comparisons(preset, comparisons))
        _regraded(options)
        return
    if options.model == "replay" and preset.config.get("apply_chat_template"):
        tasks = ",".join(dict.fromkeys(entry.task for entry in preset.published))
        raise CommandError(
            f"preset {preset.name} applies the model's chat template, which --model replay cannot (it has no "
            f"tokenizer); replay the saved generations through its task instead: {PROG} run --model replay "
            f"--model_args path=FILE --tasks {tasks}"
        )
    name, placeholder = ("path", "FILE") if options.model == "replay" else ("pretrained", "MODEL")
    model_args = options.model_args
    if model_args is None:
        if not options.dry_run:
            raise CommandError(
                f"reproduce needs --model_args {name}={placeholder} to run (or --compare RUN_FOLDER); "
                f"--dry-run prints the command with {placeholder} standing for it"
            )
        model_args = f"{name}={placeholder}"
    output_path = options.output_path or f"runs/{preset.name}"
    argv = reproduce.command(
        preset,
        tasks_dir=tasks_dir(),
        model=options.model,
        model_args=model_args,
        output_path=output_path,
        metadata=_metadata(options.metadata),
    )
    # lm-eval's own command knows no replay (nor journal) model; this package's run does.
    if options.model in ("replay", "journal"):
        argv = [*PROG.split(), "run", *_without_option(argv[2:], "--include_path")]
    if options.dry_run:
        print(reproduce.shell_line(argv))
        if options.model_args is None:
            models = ", ".join(dict.fromkeys(entry.model for entry in preset.published))
            meaning = "a file of saved generations" if options.model == "replay" else f"the model to evaluate, e.g. {models}"
            print(f"{PROG}: {placeholder} stands for {meaning}", file=sys.stderr)
        return
    started = time.time()
    run_lm_eval(argv[2:])
    run = read_run(find_results(output_path, since=started))
    print(reproduce.format_comparisons(preset, reproduce.compare(preset, run)))


def _without_option(argv: list[str], option: str) -> list[str]:
    """``argv`` without ``option`` and its value."""
    at = argv.index(option)
    return argv[:at] + argv[at + 2 :]


def _metadata(text: str | None) -> dict[str, Any] | None:
    """``--metadata`` as the JSON object it must be."""
    if text is None:
        return None
    fix = "pass --metadata a JSON object, e.g. '{\"data_dir\": \"DIR\"}'"
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise CommandError(f"--metadata is not JSON ({getattr(error, 'msg', 'nested too deeply')}); {fix}") from None
    if not isinstance(value, dict):
        kind = {list: "a JSON list", str: "a JSON string", bool: "true or false", type(None): "null"}.get(type(value), "a number")
        raise CommandError(f"--metadata is {kind}, not a JSON object; {fix}")
    return value


def _report(options: argparse.Namespace) -> None:
    from lm_eval_math500.analysis.report import write_report
    from lm_eval_math500.harness.budget import TokenizerUnavailable, after_the_run, open_tokenizer

    if options.tokenizer is not None:  # named: it must load, where the run's own may fall back to an estimate
        try:
            open_tokenizer(options.tokenizer)
        except TokenizerUnavailable as error:
            raise CommandError(f"--tokenizer: {error}") from None
    with after_the_run():
        print(write_report(options.run, options.out, options.tokenizer, regrade=options.regrade, efficiency=options.efficiency))
    _regraded(options)


def _compare(options: argparse.Namespace) -> None:
    from lm_eval_math500.analysis.compare import write_comparison
    from lm_eval_math500.harness.budget import after_the_run

    plot = options.plot or (str(Path(options.out).with_suffix(".png")) if options.out else "compare.png")
    if not plot.endswith(".png"):
        raise CommandError(f"--plot {plot} is not a .png file name; pass --plot NAME.png (the SVG goes beside it)")
    with after_the_run():
        text = write_comparison(
            options.run_a, options.run_b, task=options.task, filter_name=options.filter,
            task_b=options.task_b, filter_b=options.filter_b, out=options.out, plot=plot, regrade=options.regrade,
        )  # fmt: skip
    print(text)
    _regraded(options)


def _add_analysis_commands(commands: argparse._SubParsersAction) -> None:
    """``report`` and ``compare``: reading finished runs."""
    report = commands.add_parser(
        "report", help="report.md, report.json, report.html and PNG/SVG plots for a finished run, led by each task's verdict"
    )
    report.add_argument("run", help="the --output_path folder of a finished run (or its results_*.json)")
    report.add_argument("--out", help="folder for the report (default: beside the results file)")
    report.add_argument("--tokenizer", help="tokenizer name or folder to count tokens the run did not count (default: the run's model)")
    report.add_argument("--regrade", action="store_true", help=REGRADE_HELP)
    report.add_argument(
        "--efficiency", action="store_true",
        help="add the reasoning-efficiency table (first-correct and reflection tokens, thought switches); it grades "
        "each paragraph of the right responses, so it takes seconds per ten thousand responses",
    )  # fmt: skip
    report.set_defaults(handler=_report)
    compare = commands.add_parser(
        "compare", help="compare two runs, or two tasks of one dataset, problem by problem (paired bootstrap, McNemar)"
    )
    compare.add_argument("run_a", help="the first run's --output_path folder (or results_*.json)")
    compare.add_argument("run_b", help="the second run's --output_path folder (or results_*.json); may be the first again")
    compare.add_argument("--task", help="the task to compare (default: the runs' only common task)")
    compare.add_argument("--filter", help="extraction filter (default: the task's first)")
    compare.add_argument("--task-b", help="run B's task when it differs from --task, e.g. another prompt variant of the dataset")
    compare.add_argument("--filter-b", help="run B's filter when it differs from --filter")
    compare.add_argument("--out", help="write one JSON line per paired problem here")
    compare.add_argument("--plot", help="the figure's PNG file, an SVG goes beside it (default: --out with .png, else compare.png)")
    compare.add_argument("--regrade", action="store_true", help=REGRADE_HELP)
    compare.set_defaults(handler=_compare)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser("tasks-dir", help="print the folder to pass to lm-eval --include_path").set_defaults(
        handler=_tasks_dir
    )
    commands.add_parser(
        "run",
        help="lm-eval run with these tasks included and --model replay (re-grade saved generations); "
        "--journal FILE keeps every generation in FILE and resumes from it; see run --help",
        add_help=False,
    )

    export = commands.add_parser("export", help="per-sample JSONL from an lm-eval samples_*.jsonl file")
    export.add_argument("samples", help="an lm-eval samples_<task>_<time>.jsonl file (written by --log_samples)")
    export.add_argument("--filter", help="extraction filter to export (default: the file's first)")
    export.add_argument("-o", "--output", help="write here instead of standard output")
    export.add_argument("--regrade", action="store_true", help=REGRADE_HELP)
    export.set_defaults(handler=_export)

    repro = commands.add_parser(
        "reproduce",
        help="run a preset of published settings, or compare a finished run with its published scores",
    )
    repro.add_argument("preset", nargs="?", help="a preset name: one of the package's presets (reproduce --list names them)")
    repro.add_argument("--list", action="store_true", help="list the presets, each with the published scores it reproduces")
    repro.add_argument("--preset-file", metavar="PATH.yaml", help="a preset YAML file of your own, instead of a name")
    repro.add_argument("--model", default="vllm", help="lm-eval backend (default: vllm)")
    repro.add_argument(
        "--model_args",
        help="e.g. pretrained=deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B, or path=FILE for --model replay "
        "(with --dry-run it may be left out: the command shows MODEL)",
    )
    repro.add_argument("--metadata", help="JSON merged into the preset's metadata, e.g. '{\"data_dir\": \"DIR\"}'")
    repro.add_argument("--output_path", help="where lm-eval writes the run (default: runs/PRESET)")
    repro.add_argument(
        "--dry-run", action="store_true",
        help=f"print the command instead of running it: lm-eval's, or {PROG}'s for --model replay or journal",
    )  # fmt: skip
    repro.add_argument("--compare", metavar="RUN_FOLDER", help="a finished run to set against the published scores")
    repro.add_argument("--regrade", action="store_true", help=f"with --compare: {REGRADE_HELP}")
    repro.set_defaults(handler=_reproduce)

    grade_cmd = commands.add_parser("grade", help="grade one answer and print the verdict, with the rule that decided, as JSON")
    grade_cmd.add_argument("--gold", required=True, help="the gold answer, e.g. '\\frac{1}{2}'")
    given = grade_cmd.add_mutually_exclusive_group(required=True)
    given.add_argument("--response", help="a whole model response: the answer is extracted first")
    given.add_argument(
        "--response-file", metavar="FILE", help="read the whole response from FILE (- for standard input)"
    )
    given.add_argument("--pred", help="an answer already extracted")
    grade_cmd.add_argument("--problem", help="the problem text, so that a form it asks for is enforced")
    grade_cmd.add_argument(
        "--variant", choices=VARIANT_CHOICES, default="auto", help="the prompt variant whose format --response follows"
    )
    # --style: the former name of --variant, still accepted.
    grade_cmd.add_argument(
        "--style", choices=VARIANT_CHOICES, dest="variant", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    grade_cmd.set_defaults(handler=_grade)
    _add_analysis_commands(commands)
    return parser


def _dispatch(argv: list[str]) -> None:
    if argv[:1] == ["run"]:
        run_lm_eval(argv[1:])
        return
    options = _parser().parse_args(argv)
    with _input_errors():
        options.handler(options)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``lm-eval-math500`` command."""
    if not sys.stderr.isatty():
        # Progress bars only on a terminal: tqdm, which draws lm-eval's, datasets' and this package's,
        # takes its defaults from TQDM_* variables when it is first imported.
        os.environ.setdefault("TQDM_DISABLE", "1")
    try:
        _dispatch(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader left (e.g. `| head`): stop quietly; point stdout at devnull so the final flush
        # at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except CommandError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        sys.exit(2)
