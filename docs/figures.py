"""Rewrite the figures the docs quote from what the code prints.

Every number the docs quote sits in a block between ``<!-- figures: NAME -->`` and
``<!-- /figures -->``, and this script writes it. Two kinds:

- checked figures (:data:`FIGURES`): the commands the docs show and what they print, run on replays
  of published model outputs. They are deterministic (scores, counts, p-values, intervals), so
  ``tests/test_docs_figures.py`` fails when a quoted figure differs from what the code prints.
- measured figures (:data:`BENCHMARKS`): speed tables a benchmark prints on a shared machine. They
  change from run to run, so they are rewritten only when asked (``--measure``) and never compared.

    python docs/figures.py                           # rewrite every checked block
    python docs/figures.py --check                   # list the checked blocks that differ; exit 1 if any
    python docs/figures.py --measure grading_throughput   # run that benchmark and rewrite its block

The replays read the published files of the shared data folder (``--data``, default
``$LM_EVAL_MATH500_SHARED_DATA`` or ``../shared/data`` beside the checkout) under the names the
docs give them (:data:`INPUTS`), in a scratch folder, with this checkout's code.
"""

from __future__ import annotations

import argparse
import datetime
import difflib
import functools
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA_ENV = "LM_EVAL_MATH500_SHARED_DATA"
# The files whose blocks this script writes.
DOCS = ("README.md", "REPRODUCTIONS.md", "docs/*.md", "tasks/README.md", "tasks/*/README.md", "presets/README.md", "benchmarks/README.md")
BLOCK = re.compile(r"<!-- figures: (?P<name>[\w.-]+) -->\n(?P<body>.*?)<!-- /figures -->", re.DOTALL)

# The name each published file has in the docs' commands, and the file of the shared data folder's
# published_runs/ that it is (REPRODUCTIONS.md says where each was published).
INPUTS = {
    "cs336_base.jsonl": "qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl",
    "cs336_instruct.jsonl": "qwen25_math_1.5b_instruct__math500__r1zero_t1.0_max1024__results.jsonl",
    "qwen_math_100x8.jsonl": "qwen25_math_instruct__math_first100__cot_t0.7_n8__qwenlm.jsonl",
    "tora_70b.jsonl": "tora_70b__gsm8k_test__tora_greedy__microsoft_tora.jsonl",
    "qwen7b_base.jsonl": "qwen25_math_7b_base__math500__qwen25mathcot_greedy_max32768__skythought.jsonl",
    "sky_t1.jsonl": "sky_t1_math_correct_5k_27b_gemma2__math500__skyt1_greedy_max32768__skythought.jsonl",
}
# Each replay as the docs show it; its results go to runs/<file stem>/.
REPLAYS = {
    "cs336_base": "lm-eval-math500 run --model replay --model_args path=cs336_base.jsonl,keep_stop=True "
    "--tasks math500_r1zero --output_path runs --log_samples",
    "cs336_instruct": "lm-eval-math500 run --model replay --model_args path=cs336_instruct.jsonl,keep_stop=True "
    "--tasks math500_r1zero,math500_boxed --output_path runs --log_samples",
    "qwen_math_100x8": "lm-eval-math500 run --model replay --model_args path=qwen_math_100x8.jsonl,only_saved=true "
    "--tasks math_validation_boxed --repeats 8 --metadata '{\"boxed_instruction\": \"system\"}' --output_path runs --log_samples",
    "tora_70b": "lm-eval-math500 run --model replay --model_args path=tora_70b.jsonl --tasks gsm8k_boxed "
    "--output_path runs --log_samples",
    "qwen7b_base": "lm-eval-math500 run --model replay --model_args path=qwen7b_base.jsonl --tasks math500_boxed "
    "--metadata '{\"boxed_instruction\": \"system\"}' --output_path runs --log_samples",
    "sky_t1": "lm-eval-math500 run --model replay --model_args path=sky_t1.jsonl --tasks math500_boxed "
    "--output_path runs --log_samples",
}  # fmt: skip
COMPARE = "lm-eval-math500 compare runs/qwen7b_base runs/sky_t1 --out pairs.jsonl"


class FigureError(RuntimeError):
    """A command behind a figure failed, or a doc names a figure this script does not know."""


def default_data() -> Path:
    """The shared data folder: ``$LM_EVAL_MATH500_SHARED_DATA``, else ``../shared/data`` beside the checkout."""
    return Path(os.environ.get(SHARED_DATA_ENV) or REPO.parent / "shared" / "data").expanduser()


class Session:
    """A scratch folder holding the published files under the docs' names, where each command the
    figures need runs once, with this checkout's code and the datasets of the shared data folder."""

    def __init__(self, data: Path, folder: Path) -> None:
        self.data = data
        self.folder = folder
        self._outputs: dict[str, str] = {}
        for name, published in INPUTS.items():
            link = folder / name
            if not link.exists():
                link.symlink_to(data / "published_runs" / published)
        scripts = str(Path(sys.executable).parent)
        self.env = dict(os.environ) | {
            "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")]),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "LM_EVAL_MATH500_DATA_DIR": str(data),
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }

    def run(self, command: str) -> str:
        """What ``command`` (a line as the docs show it) prints on standard output; run once per session."""
        if command not in self._outputs:
            done = subprocess.run(shlex.split(command), cwd=self.folder, env=self.env, capture_output=True, text=True)
            if done.returncode != 0:
                raise FigureError(f"`{command}` exited with {done.returncode}:\n{done.stderr[-3000:]}")
            self._outputs[command] = done.stdout
        return self._outputs[command]

    def run_all(self, commands: Iterable[str], workers: int = 2) -> None:
        """Run commands that do not depend on each other, ``workers`` at a time."""
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(self.run, dict.fromkeys(commands)))


@dataclass(frozen=True)
class Figure:
    """A checked figure: commands as the docs show them and the part of the last one's output quoted.

    Attributes:
        commands: shown in a bash block, run in order (none: the figure reads the runs of ``needs``).
        quote: the quoted part of what the last command printed (given the session, to read files it wrote).
        needs: commands run first and not shown (the runs a report or comparison reads).
    """

    commands: tuple[str, ...]
    quote: Callable[[str, Session], str]
    needs: tuple[str, ...] = ()

    def render(self, session: Session) -> str:
        """The block's text."""
        session.run_all(self.needs)
        outputs = [session.run(command) for command in self.commands]
        quoted = self.quote(outputs[-1] if outputs else "", session).strip("\n")
        shown = "```bash\n" + "\n".join(self.commands) + "\n```\n" if self.commands else ""
        return f"{shown}```\n{quoted}\n```\n"


def tables(output: str, session: Session) -> str:
    """The tables a command printed (a run prints one per results kind)."""
    return "\n".join(line for line in output.splitlines() if line.startswith("|"))


def everything(output: str, session: Session) -> str:
    """All a command printed (a verdict, a preset comparison)."""
    return output


def until_flips(output: str, session: Session) -> str:
    """A comparison up to the count of problems that flipped (their list is in the --out file)."""
    lines = output.splitlines()
    end = next((i for i, line in enumerate(lines) if line.startswith("Problems that flipped")), len(lines) - 1)
    return "\n".join(lines[: end + 1])


def headline(output: str, session: Session) -> str:
    """A comparison's headline: the share each side gets right, the difference, its interval and p-value."""
    return next(line for line in output.splitlines() if line.startswith("share right"))


def comparison_rows(output: str, session: Session) -> str:
    """A preset comparison's table without the preset's name above it and the sources below it."""
    lines = output.splitlines()
    end = next((i for i, line in enumerate(lines) if line.startswith("sources:")), len(lines))
    return "\n".join(lines[1:end])


def sampling_table(output: str, session: Session) -> str:
    """The pass@k / maj@k / maj_avg@k table of the report a ``report`` command wrote."""
    report = (session.folder / output.strip().splitlines()[-1]).read_text(encoding="utf-8")
    found = re.search(r"^\| accuracy, k = .*?(?=\n\n)", report, re.MULTILINE | re.DOTALL)
    if not found:
        raise FigureError("the report has no pass@k table")
    return found.group(0)


def first_right_record(output: str, session: Session) -> str:
    """The record the CS336 replay logged for its first right response under the cs336 filter."""
    (samples,) = (session.folder / "runs" / "cs336_base").glob("samples_math500_r1zero_*.jsonl")
    with samples.open(encoding="utf-8") as lines:
        for row in map(json.loads, lines):
            for record in row["filtered_resps"][0] if row["filter"] == "cs336" else ():
                if json.loads(record)["verdict"]:
                    return record
    raise FigureError(f"{samples} has no right response under the cs336 filter")


@functools.cache
def _replay_benchmark() -> ModuleType:
    """benchmarks/replay_published.py, for its list of published runs, the sources' verdicts and adjudications."""
    spec = importlib.util.spec_from_file_location("replay_published", REPO / "benchmarks" / "replay_published.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def replay_table(output: str, session: Session) -> str:
    """The closing table of ``benchmarks/replay_published.py``, from the replays the docs show: per
    published file, the source's accuracy, ours, how many samples differ and who is right on each
    (``benchmarks/replay_adjudications.tsv``)."""
    from lm_eval_math500.analysis.samples import read_run
    from lm_eval_math500.harness.replay import problem_key

    benchmark = _replay_benchmark()
    adjudicated = benchmark.read_adjudications(benchmark.ADJUDICATIONS)
    names = {published: Path(name).stem for name, published in INPUTS.items()}
    lines = [
        "| file | samples | source acc | ours acc | differing | ours right | source right | ambiguous | unadjudicated |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for published in benchmark.RUNS:
        path = session.data / "published_runs" / published.file
        rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
        by_problem = {problem_key(benchmark._problem(row)): (i, row) for i, row in enumerate(rows)}
        task = read_run(session.folder / "runs" / names[published.file]).task(published.task)
        total = source_right = ours_right = 0
        counts = {"ours": 0, "source": 0, "ambiguous": 0, "unadjudicated": 0}
        for problem in task.problems(published.filter):
            position, row = by_problem[problem_key(problem.doc["problem"])]
            ours = [response.verdict for response in problem.responses]
            for k, (a, b) in enumerate(zip(ours, published.source_verdicts(row), strict=True)):
                total, ours_right, source_right = total + 1, ours_right + a, source_right + b
                if a != b:
                    note = adjudicated.get((published.file, row.get("idx", position), k))
                    counts[note["right"] if note else "unadjudicated"] += 1
        lines.append(
            f"| {published.file.split('__')[0]} | {total} | {source_right / total:.1%} ({source_right}) "
            f"| {ours_right / total:.1%} ({ours_right}) | {sum(counts.values())} | {counts['ours']} "
            f"| {counts['source']} | {counts['ambiguous']} | {counts['unadjudicated']} |"
        )
    return "\n".join(lines)


def _run(name: str) -> Figure:
    return Figure((REPLAYS[name],), tables)


FIGURES: dict[str, Figure] = {
    **{f"run-{name}": _run(name) for name in REPLAYS},
    "report-qwen_math_100x8": Figure(
        ("lm-eval-math500 report runs/qwen_math_100x8",), sampling_table, needs=(REPLAYS["qwen_math_100x8"],)
    ),
    "compare-headline": Figure((REPLAYS["qwen7b_base"], REPLAYS["sky_t1"], COMPARE), headline),
    "compare": Figure((COMPARE,), until_flips, needs=(REPLAYS["qwen7b_base"], REPLAYS["sky_t1"])),
    "reproduce-cs336": Figure(
        ("lm-eval-math500 reproduce cs336_r1zero --compare runs/cs336_base",), everything, needs=(REPLAYS["cs336_base"],)
    ),
    "record": Figure((), first_right_record, needs=(REPLAYS["cs336_base"],)),
    "reproduce-cs336-rows": Figure(
        ("lm-eval-math500 reproduce cs336_r1zero --compare runs/cs336_base",), comparison_rows, needs=(REPLAYS["cs336_base"],)
    ),
    "grade": Figure(("lm-eval-math500 grade --gold '\\frac{1}{2}' --response 'so the answer is $\\boxed{0.5}$'",), everything),
    "replay-table": Figure((), replay_table, needs=tuple(REPLAYS.values())),
}


@dataclass(frozen=True)
class Benchmark:
    """A measured figure: a benchmark script's printed tables, rewritten only when asked.

    Attributes:
        command: the command as the docs show it.
        data: the argument that points the script at the shared data folder (``{data}`` is replaced).
        paragraphs: which of the output's blank-line separated paragraphs to quote (None: all).
    """

    command: str
    data: str = "--data {data}"
    paragraphs: tuple[int, ...] | None = None

    def render(self, data: Path) -> str:
        """Run the benchmark and give its output, headed by the command, the date and the machine's load."""
        argv = [sys.executable, *shlex.split(self.command)[1:], *shlex.split(self.data.format(data=data))]
        load = os.getloadavg()[0]
        env = dict(os.environ) | {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
        }
        done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise FigureError(f"`{self.command}` exited with {done.returncode}:\n{done.stderr[-3000:]}")
        when = datetime.date.today().isoformat()
        head = f"`{self.command}`, {when}, {os.cpu_count()} CPUs shared with other jobs, load average {load:.1f} at the start:"
        paragraphs = done.stdout.strip().split("\n\n")
        quoted = [paragraphs[i] for i in self.paragraphs] if self.paragraphs else paragraphs
        return head + "".join(f"\n\n{paragraph}" for paragraph in quoted) + "\n"


BENCHMARKS: dict[str, Benchmark] = {
    "grader_accuracy": Benchmark("python benchmarks/grader_accuracy.py", "--data {data}/graderbench"),
    "grader_speed": Benchmark("python benchmarks/grader_speed.py", "--data {data}/graderbench"),
    "grading_throughput": Benchmark("python benchmarks/grading_throughput.py"),
    "input_files_speed": Benchmark("python benchmarks/input_files_speed.py", ""),
    "input_files_speed_3000": Benchmark("python benchmarks/input_files_speed.py --chars 3000", ""),
    "run_speed": Benchmark("python benchmarks/run_speed.py --old-rev 9150c21"),
    "worker_speed": Benchmark("python benchmarks/worker_speed.py", ""),
    # The load line, the timing table and the count of adjudications (every disagreement is listed
    # by the script itself and in reward_adjudications.tsv).
    "reward_speed": Benchmark("python benchmarks/reward_speed.py", paragraphs=(0, 1, 3)),
}


def doc_files() -> list[Path]:
    """Every file whose figure blocks this script writes."""
    return sorted({path for pattern in DOCS for path in REPO.glob(pattern)})


def blocks(path: Path) -> list[tuple[str, str]]:
    """(name, text) of every figure block in ``path``, in order."""
    return [(m["name"], m["body"]) for m in BLOCK.finditer(path.read_text(encoding="utf-8"))]


def rewrite(path: Path, texts: dict[str, str]) -> bool:
    """Put ``texts[name]`` into each block of ``path`` named in ``texts``; whether the file changed."""
    old = path.read_text(encoding="utf-8")
    new = BLOCK.sub(lambda m: f"<!-- figures: {m['name']} -->\n{texts.get(m['name'], m['body'])}<!-- /figures -->", old)
    if new != old:
        path.write_text(new, encoding="utf-8")
    return new != old


def check_names() -> None:
    """Raise :class:`FigureError` for a block whose name is neither a checked nor a measured figure."""
    for path in doc_files():
        for name, _ in blocks(path):
            if name not in FIGURES and name not in BENCHMARKS:
                raise FigureError(f"{path.relative_to(REPO)}: no figure {name!r}; add it to docs/figures.py")


def checked_texts(session: Session) -> dict[str, str]:
    """The text of every checked figure the docs quote."""
    check_names()
    used = dict.fromkeys(name for path in doc_files() for name, _ in blocks(path) if name in FIGURES)
    replays = set(REPLAYS.values())
    session.run_all(c for name in used for c in (*FIGURES[name].needs, *FIGURES[name].commands) if c in replays)
    return {name: FIGURES[name].render(session) for name in used}


def differences(texts: dict[str, str]) -> list[str]:
    """A unified diff per block whose text in the docs differs from ``texts``."""
    found = []
    for path in doc_files():
        for name, body in blocks(path):
            if name in texts and body != texts[name]:
                where = f"{path.relative_to(REPO)} figures: {name}"
                diff = difflib.unified_diff(body.splitlines(), texts[name].splitlines(), f"{where} (docs)", f"{where} (code)", lineterm="")
                found.append("\n".join(diff))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data(), help="the shared data folder (published_runs/, graderbench/, datasets)")
    parser.add_argument("--check", action="store_true", help="rewrite nothing: list the checked blocks that differ, exit 1 if any")
    parser.add_argument("--measure", nargs="+", choices=sorted(BENCHMARKS), metavar="BENCHMARK",
                        help=f"run these benchmarks and rewrite their blocks instead: {', '.join(sorted(BENCHMARKS))}")  # fmt: skip
    options = parser.parse_args()
    sys.path.insert(0, str(REPO))  # the figures read runs with this checkout's code, as the commands run it
    try:
        if options.measure:
            texts = {name: BENCHMARKS[name].render(options.data) for name in options.measure}
        else:
            with tempfile.TemporaryDirectory() as folder:
                texts = checked_texts(Session(options.data, Path(folder)))
    except FigureError as error:
        sys.exit(f"figures: {error}")
    if options.check:
        found = differences(texts)
        print("\n\n".join(found) if found else f"all {len(texts)} checked figures match")
        sys.exit(1 if found else 0)
    for path in doc_files():
        if rewrite(path, texts):
            print(f"rewrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
