"""Reproduce DeepSeek-R1-Distill-Qwen-1.5B on MATH-500 on one GPU with vLLM, and append the row to REPRODUCTIONS.md.

DeepSeek's settings (preset r1_distill_qwen): the model's chat template, the boxed instruction in
the user turn, T=0.6, top_p=0.95, 32,768 new tokens, 64 samples per problem (32,000 generations:
hours on one GPU; ``--preset open_r1_lighteval`` takes 4). ``--dry-run`` prints the command only.

    python examples/reproduce_r1_distill_qwen_1.5b.py --dry-run
    python examples/reproduce_r1_distill_qwen_1.5b.py --output_path runs/r1_distill_qwen_1.5b
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
from pathlib import Path

from lm_eval_math500.analysis.reproduce import compare, command, load_preset, shell_line
from lm_eval_math500.analysis.samples import read_run
from lm_eval_math500.cli import tasks_dir

MODEL = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"
# One GPU; room for the prompt plus the 32,768-token budget (the model's own limit is 131,072).
MODEL_ARGS = f"pretrained={MODEL},dtype=bfloat16,max_model_len=33792,gpu_memory_utilization=0.9"
REPRODUCTIONS = Path(__file__).resolve().parents[1] / "REPRODUCTIONS.md"


def gpu_name() -> str:
    """The GPU the run used, as nvidia-smi names it."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True)
    except FileNotFoundError:
        return "unknown GPU"
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else "unknown GPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="r1_distill_qwen", help="r1_distill_qwen (64 samples) or open_r1_lighteval (4)")
    parser.add_argument("--output_path", default="runs/r1_distill_qwen_1.5b")
    parser.add_argument("--dry-run", action="store_true", help="print the lm-eval command, run nothing")
    options = parser.parse_args()

    preset = load_preset(options.preset)
    argv = command(preset, tasks_dir=tasks_dir(), model="vllm", model_args=MODEL_ARGS, output_path=options.output_path)
    if options.dry_run:
        print(shell_line(argv))
        return
    subprocess.run(argv, check=True)
    for result in compare(preset, read_run(options.output_path)):
        row = [
            "DeepSeek-R1-Distill-Qwen-1.5B", "MATH-500", f"{result.published.score:.1f} ({result.published.source})",
            f"preset `{preset.name}`", f"`python examples/{Path(__file__).name} --preset {preset.name}`",
            f"{result.ours:.1f} ± {result.stderr:.1f} (unfinished {result.unfinished:.1f}%)",
            datetime.date.today().isoformat(), f"1× {gpu_name()}, vLLM",
        ]  # fmt: skip
        with REPRODUCTIONS.open("a", encoding="utf-8") as handle:
            handle.write("| " + " | ".join(row) + " |\n")
        print(f"appended to {REPRODUCTIONS}: ours {result.ours:.1f} ± {result.stderr:.1f} vs {result.published.score:.1f}")


if __name__ == "__main__":
    main()
