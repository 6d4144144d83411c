#!/usr/bin/env bash
# CS336 assignment 5 zero-shot baseline: Qwen2.5-Math-1.5B on the 5,000 MATH "validation" problems,
# r1_zero prompt, T=1.0, top_p=1.0, 1024 tokens, stop at </answer>. The task defaults are exactly
# these settings; read `format_reward,cs336` and `answer_reward,cs336` for the assignment's numbers.
# Needs a GPU, vllm and the hub. Usage: cs336_baseline.sh [--dry-run] [MODEL]
# (--dry-run prints the lm_eval command instead of running it).
set -euo pipefail
dry_run=false
if [[ ${1:-} == --dry-run ]]; then dry_run=true; shift; fi
model=${1:-Qwen/Qwen2.5-Math-1.5B}
command=(
  lm_eval --model vllm
  --model_args "pretrained=$model,dtype=bfloat16,gpu_memory_utilization=0.85"
  --tasks math_validation_r1zero
  --include_path "$(lm-eval-math500 tasks-dir)"
  --output_path results --log_samples
)
if $dry_run; then printf '%q ' "${command[@]}"; echo; else "${command[@]}"; fi
