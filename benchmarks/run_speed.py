"""Scoring speed of a many-sample run: 500 MATH-500 problems x 64 replayed samples, end to end.

The 64 samples of each problem are synthesised, in turn, from the four published MATH-500 outputs
in ../shared/data/published_runs (CS336 base and instruct, Qwen2.5-Math-7B base, Sky-T1), so each
text occurs 16 times. A second replay file makes the 64 texts distinct (copy i ends in i spaces,
which changes no answer), as in a real sampled run where texts differ but answers repeat. The
script times ``lm-eval-math500 run --repeats 64`` and ``lm-eval-math500 report`` on each, one
after the other, and prints wall and CPU seconds (the run's processes, user + system) against the
budgets; on a shared machine the CPU seconds are the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
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
    with (data / "math500" / "test.jsonl").open(encoding="utf-8") as handle:
        problems = [json.loads(line)["problem"] for line in handle if line.strip()]
    with out.open("w", encoding="utf-8") as handle:
        for problem in problems:
            saved = by_problem[_key(problem)]
            samples = [saved[i % len(saved)] + (" " * (i // len(saved)) if distinct else "") for i in range(REPEATS)]
            handle.write(json.dumps({"problem": problem, "response": samples}) + "\n")
    return out


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the command and its children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        sys.exit(f"{' '.join(command[:3])} failed:\n{result.stderr[-3000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    options = parser.parse_args()
    cli = str(Path(sys.executable).parent / "lm-eval-math500")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, distinct in (("each text 16x", False), ("64 distinct texts", True)):
            replay = synthesise(options.data, Path(tmp) / f"replay_{distinct}.jsonl", distinct=distinct)
            out = Path(tmp) / f"run_{distinct}"
            run = [
                cli, "run", "--model", "replay", "--model_args", f"path={replay}",
                "--tasks", "math500_question_only", "--repeats", str(REPEATS),
                "--metadata", json.dumps({"data_dir": str(options.data)}),
                "--output_path", str(out), "--log_samples",
            ]  # fmt: skip
            rows.append(("run", label, *timed(run, env)))
            rows.append(("report", label, *timed([cli, "report", str(out)], env)))
    print(f"500 problems x {REPEATS} samples, math500_question_only, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print("| step | samples | wall s | CPU s | budget s | wall / budget |")
    print("|---|---|---|---|---|---|")
    for step, label, wall, cpu in rows:
        print(f"| {step} | {label} | {wall:.1f} | {cpu:.1f} | {BUDGETS[step]:.0f} | {wall / BUDGETS[step]:.0%} |")


if __name__ == "__main__":
    main()
