"""Scoring speed of a many-sample run: 500 MATH-500 problems x 64 replayed samples, end to end.

The 64 samples of each problem are synthesised, in turn, from the four published MATH-500 outputs
in ../shared/data/published_runs (CS336 base and instruct, Qwen2.5-Math-7B base, Sky-T1), so each
text occurs 16 times. A second replay file makes the 64 texts distinct (copy i ends in i spaces,
which changes no answer), as in a real sampled run where texts differ but answers repeat. The
script times ``lm-eval-math500 run --repeats 64`` and ``lm-eval-math500 report`` on each, one
after the other, and prints wall and CPU seconds (the run's processes, user + system) against the
budgets; on a shared machine the CPU seconds are the steadier figure.

The distinct texts are run a second time with a tokenizer named (a byte-level BPE trained here on
the problems), as a run of the hf or vllm backend always has: the run then records every response's
token count, which the report reads instead of estimating it. With ``--old-rev REV`` it also times
the same runs with the code of git revision ``REV``, each run of this checkout right after the old
one's, and prints new / old.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
SOURCES = (
    "qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl",
    "qwen25_math_1.5b_instruct__math500__r1zero_t1.0_max1024__results.jsonl",
    "qwen25_math_7b_base__math500__qwen25mathcot_greedy_max32768__skythought.jsonl",
    "sky_t1_math_correct_5k_27b_gemma2__math500__skyt1_greedy_max32768__skythought.jsonl",
)
REPEATS = 64
BUDGETS = {"run": 60.0, "report": 30.0}
_R1_QUESTION = re.compile(r"\nUser: (.*)\nAssistant:", re.DOTALL)


def _key(text: str) -> str:
    return " ".join(text.split())


def _saved(row: dict) -> tuple[str, str]:
    """(problem, response) of a published row, CS336 or Qwen2.5-Math layout."""
    if "prompt" in row:
        return _R1_QUESTION.search(row["prompt"]).group(1), row["response"]
    return row["question"], row["code"][0]


def synthesise(data: Path, out: Path, *, distinct: bool) -> Path:
    """A replay file with REPEATS samples per MATH-500 problem, taken from the sources in turn;
    with ``distinct`` the copies of one text differ by trailing spaces."""
    by_problem: dict[str, list[str]] = {}
    for name in SOURCES:
        with (data / "published_runs" / name).open(encoding="utf-8") as handle:
            for line in handle:
                problem, response = _saved(json.loads(line))
                by_problem.setdefault(_key(problem), []).append(response)
    with out.open("w", encoding="utf-8") as handle:
        for problem in problems(data):
            saved = by_problem[_key(problem)]
            samples = [saved[i % len(saved)] + (" " * (i // len(saved)) if distinct else "") for i in range(REPEATS)]
            handle.write(json.dumps({"problem": problem, "response": samples}) + "\n")
    return out


def problems(data: Path) -> list[str]:
    with (data / "math500" / "test.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line)["problem"] for line in handle if line.strip()]


def train_tokenizer(data: Path, out: Path) -> Path:
    """A byte-level BPE tokenizer (4,096 tokens) trained on the MATH-500 problems, saved to ``out``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=4096, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(problems(data), trainer)
    PreTrainedTokenizerFast(tokenizer_object=bpe).save_pretrained(out)
    return out


def checkout(rev: str, into: Path) -> Path:
    """The package as it was at git revision ``rev``, extracted into ``into``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True).stdout
    into.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="tar")
    return into


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the command and its children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        sys.exit(f"{' '.join(command[3:6])} failed:\n{result.stderr[-3000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cli(code: Path) -> tuple[list[str], dict[str, str]]:
    """The command line of ``lm-eval-math500`` run from the package in ``code``, and its environment."""
    env = {
        **os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }  # fmt: skip
    return [sys.executable, "-c", "from lm_eval_math500.cli import main; main()"], env


def run_command(command: list[str], replay: Path, out: Path, metadata: dict) -> list[str]:
    return [
        *command, "run", "--model", "replay", "--model_args", f"path={replay}",
        "--tasks", "math500_question_only", "--repeats", str(REPEATS),
        "--metadata", json.dumps(metadata), "--output_path", str(out), "--log_samples",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--old-rev", help="also time the runs with the code of this git revision, side by side")
    options = parser.parse_args()
    new, new_env = cli(REPO)
    rows, pairs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        old = cli(checkout(options.old_rev, Path(tmp) / "old")) if options.old_rev else None
        tokenizer = train_tokenizer(options.data, Path(tmp) / "tok")
        variants = [("each text 16x", False, None), ("64 distinct texts", True, None), ("64 distinct texts, tokenizer", True, tokenizer)]
        for index, (label, distinct, tokenizer) in enumerate(variants):
            replay = synthesise(options.data, Path(tmp) / f"replay_{distinct}.jsonl", distinct=distinct)
            metadata = {"data_dir": str(options.data), **({"tokenizer": str(tokenizer)} if tokenizer else {})}
            if old:
                old_out = Path(tmp) / f"old_{index}"
                old_times = timed(run_command(old[0], replay, old_out, metadata), old[1])
            out = Path(tmp) / f"run_{index}"
            new_times = timed(run_command(new, replay, out, metadata), new_env)
            if old:
                pairs.append((label, old_times, new_times))
            rows.append(("run", label, *new_times))
            rows.append(("report", label, *timed([*new, "report", str(out)], new_env)))
    print(f"500 problems x {REPEATS} samples, math500_question_only, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print("| step | samples | wall s | CPU s | budget s | wall / budget |")
    print("|---|---|---|---|---|---|")
    for step, label, wall, cpu in rows:
        print(f"| {step} | {label} | {wall:.1f} | {cpu:.1f} | {BUDGETS[step]:.0f} | {wall / BUDGETS[step]:.0%} |")
    walls = {(step, label): wall for step, label, wall, _ in rows}
    print("\n| samples | run wall s | report wall s | report / run |")
    print("|---|---|---|---|")
    for label in dict.fromkeys(label for _, label, _, _ in rows):
        run_wall, report_wall = walls[("run", label)], walls[("report", label)]
        print(f"| {label} | {run_wall:.1f} | {report_wall:.1f} | {report_wall / run_wall:.2f} |")
    if pairs:
        print(f"\n`run`, this checkout (new) against {options.old_rev} (old), each new run right after the old one:\n")
        print("| samples | old wall s | new wall s | new / old wall | old CPU s | new CPU s | new / old CPU |")
        print("|---|---|---|---|---|---|---|")
        for label, (old_wall, old_cpu), (new_wall, new_cpu) in pairs:
            print(f"| {label} | {old_wall:.1f} | {new_wall:.1f} | {new_wall / old_wall:.2f} | "
                  f"{old_cpu:.1f} | {new_cpu:.1f} | {new_cpu / old_cpu:.2f} |")


if __name__ == "__main__":
    main()
